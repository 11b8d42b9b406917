"""Events of other areas (the registry's version registered, alias moved, deployment changed,
approval requested / decided), sent to the tenant's channels through the same delivery as cost
alerts: exactly once, signed, retried.

An event is an `AlertFiring` row with `event_type` set and its key `event#<event id>`: the delivery
worker (`manage.py run_alerts`, or its in-process loop) finds it on the sparse pending index and
posts it to the tenant's webhook like a firing (Standard Webhooks signature, `webhook-id` = the key,
backoff, at most ALERTS_WEBHOOK_MAX_ATTEMPTS), and to Slack and Teams shown as an alert. The
dashboard notification and the e-mail are skipped:
those stay for cost alerts. A caller that changes something writes the event in the same
transaction as the change (`event_item`, an outbox: no change without its event, no event without
its change); `deliver_event` saves one on its own (a test event), once per event id.
"""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import PutError

from dashboard.alerts import queries
from dashboard.alerts.delivery import SKIPPED
from dashboard.alerts.models import PENDING, AlertFiring
from dashboard.core import clock, worker
from dashboard.core.ids import new_id

EVENT_KIND = "event"


def event_item(
    tenant_id: str,
    event_type: str,
    data: dict[str, Any],
    *,
    message: str,
    subject: str = "",
    event_id: str | None = None,
) -> AlertFiring:
    """The unsaved event, for the caller's own transaction (the outbox row)."""
    event_id = event_id or new_id("evt")
    return AlertFiring(
        tenant_id=tenant_id,
        key=f"event#{event_id}",
        rule_id=EVENT_KIND,
        rule_name=event_type,
        kind=EVENT_KIND,
        period=subject,
        threshold="",
        subject=subject,
        value_micro_usd=0,
        limit_micro_usd=0,
        message=message[:1000],
        fired_at=clock.iso_ms(clock.now()),
        pending=PENDING,
        notification_state=SKIPPED,
        email_state=SKIPPED,
        event_type=event_type,
        event_data=data,
    )


def deliver_event(
    tenant_id: str,
    event_type: str,
    data: dict[str, Any],
    *,
    message: str = "",
    subject: str = "",
    event_id: str | None = None,
) -> str:
    """Queue one event for the tenant's channels; the same `event_id` twice is queued once.
    Returns the event's key (its `webhook-id`). One conditional PutItem."""
    item = event_item(
        tenant_id, event_type, data, message=message or event_type, subject=subject, event_id=event_id
    )
    try:
        item.save(condition=AlertFiring.key.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
    else:
        worker.wake()  # an in-process worker sends it at once; another process's at its next pass
    return item.key


def has_channel(tenant_id: str) -> bool:
    """Whether the tenant has somewhere to send events (a signed webhook, Slack or Teams): callers
    skip writing events nobody would receive. One GetItem."""
    from dashboard.alerts.delivery import OUTBOUND, configured

    channel = queries.channel(tenant_id)
    return any(configured(name, channel) for name in OUTBOUND)
