"""Recording the audit trail: who did what to which item of which tenant, and what changed.

Every area's services record their actions here; the trail is read through `audit.queries`.
"""

from __future__ import annotations

from typing import Any

from dashboard.audit.models import AuditEvent
from dashboard.core import clock
from dashboard.core.ids import new_id
from dashboard.core.scope import AccessScope

PLATFORM = "platform"


def build_event(
    scope: AccessScope,
    action: str,
    target_type: str,
    target_id: str,
    tenant_id: str | None = None,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    """An unsaved event, for services that write it inside their own transaction."""
    now = clock.now()
    event_id = new_id("evt")
    return AuditEvent(
        tenant_id=tenant_id or scope.tenant_id or PLATFORM,
        sk=f"{now.isoformat()}#{event_id}",
        event_id=event_id,
        ts=now,
        month=now.strftime("%Y-%m"),
        actor_id=scope.actor_id,
        actor_label=scope.actor_label,
        action=action,
        target_type=target_type,
        target_id=target_id,
        changes=changes or None,
    )


def record(
    scope: AccessScope,
    action: str,
    target_type: str,
    target_id: str,
    tenant_id: str | None = None,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    """Build and save an event (one PutItem)."""
    event = build_event(scope, action, target_type, target_id, tenant_id, changes)
    event.save()
    return event
