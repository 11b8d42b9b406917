"""Read access patterns of the alerts area (each one a bounded query on a key or a sparse index)."""

from __future__ import annotations

from functools import partial

from dashboard.alerts.models import (
    PENDING,
    REARM,
    AlertChannel,
    AlertFiring,
    AlertRule,
    AlertState,
    BudgetRequest,
    Notification,
)
from dashboard.core.errors import NotFound
from dashboard.dynamo.paging import Page, paginate

UNREAD_CAP = 99  # the badge says "99+" beyond; counting stops there


def rules(tenant_id: str) -> list[AlertRule]:
    return list(AlertRule.query(tenant_id))


def rule(tenant_id: str, rule_id: str) -> AlertRule:
    try:
        return AlertRule.get(tenant_id, rule_id, consistent_read=True)  # an edit right after a save sees it
    except AlertRule.DoesNotExist:
        raise NotFound("That alert rule was not found.") from None


def channel(tenant_id: str) -> AlertChannel:
    try:
        return AlertChannel.get(tenant_id)
    except AlertChannel.DoesNotExist:
        return AlertChannel(tenant_id=tenant_id)


def recent_firings(tenant_id: str, limit: int = 20) -> list[AlertFiring]:
    """Newest first, with their delivery log (the attempts)."""
    return list(AlertFiring.by_time.query(tenant_id, scan_index_forward=False, limit=limit))


def pending_firings(limit: int = 100) -> list[AlertFiring]:
    """Claims whose delivery is not finished, oldest first (sparse index: only those rows)."""
    return list(AlertFiring.pending_index.query(PENDING, limit=limit))


def notifications(tenant_id: str, cursor: str | None = None, limit: int = 25) -> Page[Notification]:
    query = partial(Notification.query, tenant_id, scan_index_forward=False)
    return paginate(query, purpose=f"alerts:notifications:{tenant_id}", limit=limit, cursor=cursor)


def unread_count(tenant_id: str) -> int:
    """At most UNREAD_CAP + 1 index entries read: one small Select=COUNT query."""
    return Notification.unread.count(tenant_id, limit=UNREAD_CAP + 1)


def unread_notifications(tenant_id: str, limit: int = 200) -> list[Notification]:
    """The tenant's unread notifications (the sparse `unread` index), at most `limit`: one query."""
    return list(Notification.unread.query(tenant_id, limit=limit))


def budget_requests(tenant_id: str, limit: int = 20) -> list[BudgetRequest]:
    """The tenant's requests, newest first (one query)."""
    return list(BudgetRequest.query(tenant_id, scan_index_forward=False, limit=limit))


def budget_request(tenant_id: str, request_id: str) -> BudgetRequest:
    try:
        return BudgetRequest.get(tenant_id, request_id)
    except BudgetRequest.DoesNotExist:
        raise NotFound("That budget request was not found.") from None


def open_budget_requests(limit: int = 100) -> list[BudgetRequest]:
    """Staff's queue: every request waiting for a decision, oldest first (sparse index: only those)."""
    return list(BudgetRequest.open_index.query("open", limit=limit))


def rearm_generation(tenant_id: str, month: str) -> int:
    """How many budget increases were approved this month: budget thresholds re-arm with each."""
    try:
        return int(AlertState.get(tenant_id, f"{REARM}#{month}").max_level or 0)
    except AlertState.DoesNotExist:
        return 0
