"""The audit trail: who did what to which item of which tenant, and what changed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from functools import partial
from typing import Any

from dashboard.accounts.models import AuditEvent
from dashboard.accounts.scope import AccessScope, Can
from dashboard.core import clock
from dashboard.core.ids import new_id
from dashboard.dynamo.paging import Page, paginate

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
    event = build_event(scope, action, target_type, target_id, tenant_id, changes)
    event.save()
    return event


def list_events(
    scope: AccessScope, *, month: str | None = None, cursor: str | None = None, limit: int = 50
) -> Page[AuditEvent]:
    """Newest first. Tenant admins read their tenant; staff one tenant, or every tenant by month."""
    scope.require(Can.TENANT_PAGES)
    if scope.sees_all_tenants:
        month = month or clock.now().strftime("%Y-%m")
        query = partial(AuditEvent.by_month.query, month, scan_index_forward=False)
        return paginate(query, purpose=f"audit:month:{month}", limit=limit, cursor=cursor)
    tenant_id = scope.require_tenant()
    query = partial(AuditEvent.query, tenant_id, scan_index_forward=False)
    return paginate(query, purpose=f"audit:{tenant_id}", limit=limit, cursor=cursor)


def actors_since(
    tenant_id: str, since: datetime, actions: tuple[str, ...], limit: int
) -> tuple[set[str], bool]:
    """Who did one of `actions` in the tenant since `since` (one bounded query), and whether the read
    stopped at `limit` (then the set may be short)."""
    events = AuditEvent.query(
        tenant_id,
        AuditEvent.sk >= since.isoformat(),
        filter_condition=AuditEvent.action.is_in(*actions),
        page_size=limit,
        limit=limit,
    )
    actors = {event.actor_id for event in events}
    return actors, events.last_evaluated_key is not None


def month_events(month: str, actions: tuple[str, ...], limit: int) -> Iterator[AuditEvent]:
    """Events of `actions` in every tenant in a month (the month index), at most `limit` read."""
    yield from AuditEvent.by_month.query(
        month, filter_condition=AuditEvent.action.is_in(*actions), page_size=limit, limit=limit
    )
