"""Execution history: newest first, filtered, one bounded page at a time; and one execution's detail.

The query picks the narrowest key for the filters (session → the session index; agent → the table's
own key; status → the tenant#status index; user → the user index; otherwise the tenant index). Filters the key cannot
express, and the TTL (DynamoDB deletes expired items late, so reads hide them), are applied by
DynamoDB as filter expressions (so are environment and tag: no index holds them; a session has
its own sparse index). A page reads at most MAX_CALLS DynamoDB pages: when the filters
match rarely it may show fewer rows, with a link to go on from where it stopped. The previous page
is the same query read the other way (ascending) from the first row shown, so the way back costs
what the way forward does and needs no list of earlier cursors.

Totals of the whole filtered set, the same on every page: from the rollups where a rollup holds the
filters, one query (no filter, or a status or "any failure" alone: the daily `total` / `status` rows of
the range) or one BatchGet (one agent, user or model: its ranked rows of the whole months, weeks and
days covering the range). Filters that combine several of those have no rollup row: their totals are
counted from the matching executions in at most TOTALS_CALLS queries, and not shown when more match;
so are the totals of an environment, tag or session filter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial

from dashboard.accounts.queries import people_of
from dashboard.analytics import rollups
from dashboard.analytics.inputs import ExecutionFilters, check_agent_id, is_valid_id, resolve_tenant
from dashboard.analytics.models import (
    EXECUTION_TTL_DAYS,
    Execution,
    scoped_key,
    session_key,
)
from dashboard.analytics.queries.rollup_reads import daily, figures, top
from dashboard.analytics.queries.traces import TraceView, execution_steps
from dashboard.analytics.rollups import Totals
from dashboard.core import clock
from dashboard.core.clock import day_end, day_start
from dashboard.core.errors import NotFound
from dashboard.core.scope import AccessScope
from dashboard.dynamo.paging import Page, decode_cursor, encode_cursor, raw_pages, read_bounded

PAGE_SIZE = 25
MAX_CALLS = 4
FILTERED_READ = 100  # items DynamoDB evaluates per call when a filter may drop many
SORTS = {"started": "Newest first", "cost": "Costliest first", "duration": "Longest first"}
SORT_WINDOW = 100  # sorting by cost or duration orders windows of this many, newest window first
EXPORT_ROWS = 5_000
EXPORT_CALLS = 10


def _range(attribute, filters: ExecutionFilters):
    low = day_start(filters.start) if filters.start else None
    high = day_end(filters.end) if filters.end else None
    if low and high:
        return attribute.between(low, high)
    if low:
        return attribute >= low
    if high:
        return attribute <= high
    return None


def _history_query(tenant_id: str, filters: ExecutionFilters):
    """(bound query, whether it has filters beyond the TTL) for the narrowest key."""
    now = clock.now()
    extra = []
    statuses = filters.statuses
    # One status has its own index; several ("any failure") are a filter on the next narrowest key
    # (three status partitions cannot be read as one list newest first with one cursor).
    one_status = statuses[0] if len(statuses) == 1 else None
    if len(statuses) > 1:
        extra.append(Execution.status.is_in(*statuses))
    if filters.session_id:
        # A conversation is a handful of runs: its own index is the narrowest key there is, whatever
        # else is asked (sparse: runs recorded before the index have no `session_key` and are not in it).
        key = partial(
            Execution.by_session.query,
            session_key(tenant_id, filters.session_id),
            _range(Execution.started_at, filters),
        )
        if filters.agent_id:
            extra.append(Execution.agent_id == filters.agent_id)
        if one_status:
            extra.append(Execution.status == one_status)
        if filters.user_id:
            extra.append(Execution.user_id == filters.user_id)
    elif filters.agent_id:
        key = partial(Execution.query, scoped_key(tenant_id, filters.agent_id), _range(Execution.sk, filters))
        if one_status:
            extra.append(Execution.status == one_status)
        if filters.user_id:
            extra.append(Execution.user_id == filters.user_id)
    elif one_status:
        key = partial(
            Execution.by_tenant_status.query,
            f"{tenant_id}#{one_status}",
            _range(Execution.started_at, filters),
        )
        if filters.user_id:
            extra.append(Execution.user_id == filters.user_id)
    elif filters.user_id:
        key = partial(
            Execution.by_user.query,
            scoped_key(tenant_id, filters.user_id),
            _range(Execution.started_at, filters),
        )
    else:
        key = partial(Execution.by_tenant.query, tenant_id, _range(Execution.started_at, filters))
    if filters.model:
        extra.append(Execution.model == filters.model)
    # Environment and tag have no key of their own: filter expressions on the narrowest key,
    # read within the same MAX_CALLS pages of FILTERED_READ items (a rare value may show fewer rows,
    # with the link to go on).
    if filters.environment:
        extra.append(Execution.environment == filters.environment)
    if filters.tag:
        extra.append(Execution.tags.contains(filters.tag))
    selective = bool(extra)
    condition = Execution.expires_at > now
    for more in extra:
        condition &= more
    return partial(key, filter_condition=condition), selective


@dataclass
class ExecutionPage(Page[Execution]):
    prev_cursor: str | None = None  # a `before` cursor: the page of newer rows; None on the first page


def _read(query, key, *, limit: int, page_size: int, forward: bool):
    """Up to `limit` items from `key` on in at most MAX_CALLS calls: (items, their keys, resume key)."""
    return read_bounded(
        query,
        Execution,
        limit=limit,
        max_calls=MAX_CALLS,
        start=key,
        page_size=page_size,
        scan_index_forward=forward,
    )


def bounded_page(
    query,
    *,
    purpose: str,
    limit: int,
    cursor: str | None,
    page_size: int,
    before: str | None = None,
) -> ExecutionPage:
    """Up to `limit` items, newest first, in at most MAX_CALLS DynamoDB calls (2 × MAX_CALLS when
    going back reaches the first page), resuming exactly after the last one shown.

    `before` (the `prev_cursor` of a later page) reads the rows just newer than that page, ascending
    from its first row (one more than a page, to know whether newer ones remain), newest first."""
    if before:
        back = decode_cursor(before, purpose)
        items, keys, key = _read(query, back, limit=limit + 1, page_size=page_size + 1, forward=True)
        if len(items) > limit or key:
            # Older rows go on from this page's oldest row (where the later page began); newer ones
            # from its newest row, or from where the read stopped short.
            newer = keys[limit - 1] if len(items) > limit else key
            items, keys = items[:limit], keys[:limit]
            items.reverse()
            return ExecutionPage(
                items=items,
                next_cursor=encode_cursor(keys[0] if keys else back, purpose),
                prev_cursor=encode_cursor(newer, purpose),
            )
        cursor = None  # at most a page is newer: that is the first page
    start = decode_cursor(cursor, purpose)
    items, keys, key = _read(query, start, limit=limit, page_size=page_size, forward=False)
    prev = (keys[0] if keys else start) if start else None
    return ExecutionPage(
        items=items, next_cursor=encode_cursor(key, purpose), prev_cursor=encode_cursor(prev, purpose)
    )


def list_executions(
    scope: AccessScope,
    filters: ExecutionFilters,
    *,
    tenant_id: str | None = None,
    cursor: str | None = None,
    before: str | None = None,
    limit: int = PAGE_SIZE,
) -> ExecutionPage:
    tenant_id = resolve_tenant(scope, tenant_id)
    if tenant_id is None:
        tenant_id = scope.require_tenant()
    if filters.agent_id:
        check_agent_id(filters.agent_id)
    query, selective = _history_query(tenant_id, filters)
    return bounded_page(
        query,
        purpose=f"executions:{tenant_id}:{filters.fingerprint()}",
        limit=limit,
        cursor=cursor,
        before=before,
        page_size=max(limit, FILTERED_READ) if selective else limit,
    )


def sort_rows(items: list[Execution], sort: str) -> list[Execution]:
    """A window of rows in the order asked for (ties: newest first)."""
    if sort == "cost":
        return sorted(items, key=lambda e: (-int(e.cost_micro_usd or 0), _desc(e.started_at)))
    if sort == "duration":
        return sorted(items, key=lambda e: (-int(e.duration_ms or 0), _desc(e.started_at)))
    return items


def _desc(text: str) -> tuple[int, ...]:
    return tuple(-ord(char) for char in text)


# Filters that combine an agent, user or model with another one, or with a status, have no rollup
# row: their totals are counted from the matching executions themselves, reading as many calls as the
# CSV may (so the totals are shown whenever the CSV can hold every match), two attributes per item.
TOTALS_CALLS = EXPORT_CALLS
TOTALS_PAGE: int | None = None  # items per call; None: as many as DynamoDB's 1 MB a call holds
TOTALS_ATTRIBUTES = ["status", "cost_micro_usd"]


@dataclass(frozen=True)
class FilteredTotals:
    """Runs, failures and cost of every execution the filters match, whichever page is shown."""

    count: int
    failures: int
    cost_micro_usd: int
    start: date
    end: date
    source: str  # rollups | counted (read from the executions) | "" (too many to count: not shown)

    @property
    def whole_set(self) -> bool:
        return bool(self.source)

    @property
    def failure_rate(self) -> float | None:
        return self.failures / self.count if self.count else None


def filtered_totals(tenant_id: str, filters: ExecutionFilters) -> FilteredTotals:
    """Totals of the whole filtered set: one rollup read when a rollup holds the filters (none, a
    status or "any failure" alone: the daily `total` / `status` rows of the range; one agent, user or
    model alone: its ranked rows of the whole months, weeks and days covering it); otherwise at most
    TOTALS_CALLS queries on the history's own key (see `_count_matches`)."""
    today = clock.now().date()
    start = filters.start or today - timedelta(days=EXECUTION_TTL_DAYS - 1)
    end = min(filters.end or today, today)
    named = [
        (d, v)
        for d, v in (("agent", filters.agent_id), ("user", filters.user_id), ("model", filters.model))
        if v
    ]
    if start > end:
        return FilteredTotals(0, 0, 0, start, end, "rollups")
    if len(named) > 1 or (named and filters.status) or filters.dimensions:
        counted = _count_matches(tenant_id, filters)
        if counted is None:
            return FilteredTotals(0, 0, 0, start, end, "")
        return FilteredTotals(counted.count, counted.failures, counted.cost_micro_usd, start, end, "counted")
    if named:
        dimension, value = named[0]
        totals = figures(tenant_id, dimension, start, end, [value])[value]
    elif filters.status:
        totals = rollups.Totals()
        for (_, value), row in daily(tenant_id, "status", start, end).items():
            if value in filters.statuses:
                totals.merge(row)
    else:
        totals = rollups.Totals()
        for row in daily(tenant_id, "total", start, end).values():
            totals.merge(row)
    return FilteredTotals(totals.count, totals.failures, totals.cost_micro_usd, start, end, "rollups")


def _count_matches(tenant_id: str, filters: ExecutionFilters) -> Totals | None:
    """Runs, failures and cost of the executions the filters match, from the same query as the list
    and the CSV (so the three agree), in at most TOTALS_CALLS calls of up to 1 MB each; None when more
    match than those calls read (a partial sum would read as the whole)."""
    query, _ = _history_query(tenant_id, filters)
    totals = Totals()
    for page in raw_pages(
        query, max_calls=TOTALS_CALLS, page_size=TOTALS_PAGE, attributes_to_get=TOTALS_ATTRIBUTES
    ):
        for raw in page.items:
            totals.count += 1
            totals.failures += int(raw["status"]["S"] != "succeeded")
            totals.cost_micro_usd += int(raw.get("cost_micro_usd", {}).get("N", "0"))
        if not page.next_key:
            return totals
    return None


@dataclass
class Export:
    executions: list[Execution]
    truncated: bool  # more matched than were exported


def export_rows(scope: AccessScope, filters: ExecutionFilters, tenant_id: str | None = None) -> Export:
    """The filtered executions, newest first: at most EXPORT_ROWS rows in at most EXPORT_CALLS calls."""
    tenant_id = resolve_tenant(scope, tenant_id) or scope.require_tenant()
    if filters.agent_id:
        check_agent_id(filters.agent_id)
    query, _ = _history_query(tenant_id, filters)
    executions: list[Execution] = []
    more = False
    for page in raw_pages(query, max_calls=EXPORT_CALLS, page_size=1_000, scan_index_forward=False):
        more = bool(page.next_key)
        for raw in page.items:
            executions.append(Execution.from_raw_data(raw))
            if len(executions) == EXPORT_ROWS:
                return Export(executions, more or raw is not page.items[-1])
    return Export(executions, more)


def get_execution(scope: AccessScope, execution_id: str, tenant_id: str | None = None) -> Execution:
    """One execution of the reader's tenant (staff: of the tenant named or focused); one query."""
    tenant_id = resolve_tenant(scope, tenant_id) or scope.require_tenant()
    if not is_valid_id(execution_id):
        raise NotFound("That execution was not found.")
    now = clock.now()
    for execution in Execution.by_execution_id.query(scoped_key(tenant_id, execution_id), limit=5):
        if execution.expires_at > now:
            return execution
    raise NotFound("That execution was not found (executions are kept for 180 days).")


def recent_errors(tenant_id: str, limit: int = 50) -> list[str]:
    """The error messages of the tenant's latest failed executions (one query on the status index)."""
    failed = Execution.by_tenant_status.query(f"{tenant_id}#failed", scan_index_forward=False, limit=limit)
    return [execution.error or "(no message)" for execution in failed]


@dataclass
class ExecutionView:
    """The execution page: the execution, its steps when it came from a trace, its user's name."""

    execution: Execution
    trace: TraceView | None
    people: dict[str, tuple[str, str]]


def execution_page(scope: AccessScope, execution_id: str, tenant_id: str | None = None) -> ExecutionView:
    """DynamoDB calls: 1 query for the execution, 1 query of its trace's partition when it came from
    a trace, 1 BatchGet for its user's name."""
    execution = get_execution(scope, execution_id, tenant_id)
    return ExecutionView(
        execution,
        execution_steps(execution),
        people_of([execution.user_id], execution.tenant_id),
    )


SUGGESTIONS = 50


def filter_suggestions(scope: AccessScope, tenant_id: str, days: int = 7) -> dict[str, list[str]]:
    """The costliest agents, models and users of the last `days` days (at most 50 each).

    Suggestions for the history filters (which also take any other value typed in).
    """
    tenant_id = resolve_tenant(scope, tenant_id)
    if tenant_id is None:
        return {}
    today = clock.now().date()
    return {
        dimension: [
            value
            for value, _ in top(tenant_id, dimension, today - timedelta(days=days - 1), today, SUGGESTIONS)
        ]
        for dimension in ("agent", "model", "user")
    }
