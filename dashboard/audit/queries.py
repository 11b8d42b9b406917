"""Reading the audit trail: the trail page's filtered pages, and the reads other areas' pages make."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from dashboard.audit.models import AuditEvent
from dashboard.core import clock
from dashboard.core.scope import AccessScope, Can
from dashboard.dynamo.paging import Page, bounded_page, paginate

SIGN_INS = ("session.login", "session.logout")
FILTERED_READ = 100  # events DynamoDB evaluates per call when a filter may drop many
MAX_CALLS = 4


@dataclass(frozen=True)
class AuditFilters:
    action: str | None = None  # exact (`template.approve`) or a family (`template`)
    actor_id: str | None = None
    target_type: str | None = None
    hide_sign_ins: bool = True

    def condition(self):
        condition = None  # PynamoDB's chaining: `None & c` is c
        if self.action:
            if "." in self.action:
                condition &= AuditEvent.action == self.action
            else:
                condition &= AuditEvent.action.startswith(self.action + ".")
        if self.target_type:
            condition &= AuditEvent.target_type == self.target_type
        if self.hide_sign_ins and not (self.action and self.action.startswith("session")):
            condition &= ~AuditEvent.action.is_in(*SIGN_INS)
        return condition

    def salt(self) -> str:
        return f"{self.action}|{self.actor_id}|{self.target_type}|{self.hide_sign_ins}"


def list_events(
    scope: AccessScope,
    *,
    month: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
    filters: AuditFilters | None = None,
) -> Page[AuditEvent]:
    """Newest first. Tenant admins read their tenant; staff one tenant, or every tenant by month.

    One query per DynamoDB page, on the tenant's partition, the month index (staff, every tenant) or
    the actor index (an actor chosen; the tenant or month checked as a filter). Filters are DynamoDB
    filter expressions, so a page reads at most MAX_CALLS pages of FILTERED_READ events and may hold
    fewer rows, with a link to go on from where it stopped.
    """
    scope.require(Can.TENANT_PAGES)
    filters = filters or AuditFilters(hide_sign_ins=False)
    condition = filters.condition()
    if scope.sees_all_tenants:
        month = month or clock.now().strftime("%Y-%m")
        where, purpose = AuditEvent.month == month, f"audit:month:{month}"
        query = partial(AuditEvent.by_month.query, month, scan_index_forward=False)
    else:
        tenant_id = scope.require_tenant()
        where, purpose = AuditEvent.tenant_id == tenant_id, f"audit:{tenant_id}"
        query = partial(AuditEvent.query, tenant_id, scan_index_forward=False)
    if filters.actor_id:
        condition = where if condition is None else where & condition
        query = partial(AuditEvent.by_actor.query, filters.actor_id, scan_index_forward=False)
    purpose = f"{purpose}:{filters.salt()}"
    if condition is None:
        return paginate(query, purpose=purpose, limit=limit, cursor=cursor)
    return bounded_page(
        partial(query, filter_condition=condition),
        AuditEvent,
        purpose=purpose,
        limit=limit,
        cursor=cursor,
        page_size=max(limit, FILTERED_READ),
        max_calls=MAX_CALLS,
    )


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
