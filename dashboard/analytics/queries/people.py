"""One conversation and one end user: the session page and the person page (issue #28).

A session (`session_id` of one tenant) is read from its own sparse index (`Execution.by_session`, key
`tenant#session`), oldest first: its totals from one projected read of the whole session (bounded,
SUMMARY_CALLS), its rows a page at a time with the signed cursor. Executions recorded before the index
existed carry no `session_key` and are not in it.

A person (a `user_id` of one tenant, the tenants' own end users) is read from the rollups for the
figures over time (the user's day-bucket rows, never the raw executions) and from the user index for
their latest runs, whose sessions and agents the page lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from dashboard.accounts.queries import people_of
from dashboard.analytics.inputs import ExecutionFilters, Period, is_valid_id, resolve_tenant
from dashboard.analytics.models import Execution, session_key
from dashboard.analytics.queries.history import PAGE_SIZE, ExecutionPage, list_executions
from dashboard.analytics.queries.rollup_reads import by_day, daily
from dashboard.analytics.rollups import Totals
from dashboard.core import clock
from dashboard.core.errors import NotFound
from dashboard.core.scope import AccessScope
from dashboard.dynamo.paging import decode_cursor, encode_cursor, raw_pages, read_bounded

SESSION_PAGE = 50
SESSION_CALLS = 4  # calls one page of a session's rows may take (the TTL filter may drop some)
SUMMARY_CALLS = 10  # calls of up to 1 MB the session's totals may take (thousands of runs)
SUMMARY_PAGE: int | None = None  # items per call; None: as many as DynamoDB's 1 MB a call holds
SUMMARY_ATTRIBUTES = [
    "execution_id",
    "agent_id",
    "user_id",
    "status",
    "started_at",
    "cost_micro_usd",
    "tokens_in",
    "tokens_out",
]
FAILED_SHOWN = 20


@dataclass(frozen=True)
class Failure:
    execution_id: str
    agent_id: str
    status: str
    started_at: str


@dataclass
class SessionSummary:
    """The whole session's figures (whichever page of rows is shown)."""

    totals: Totals = field(default_factory=Totals)
    agents: dict[str, Totals] = field(default_factory=dict)  # by agent, in the order first seen
    users: list[str] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)  # the first FAILED_SHOWN failures, in order
    first: str = ""
    last: str = ""
    complete: bool = True  # False: more runs than SUMMARY_CALLS read; the figures are of those read


@dataclass
class SessionView:
    session_id: str
    tenant_id: str
    summary: SessionSummary
    page: ExecutionPage
    people: dict[str, tuple[str, str]]


def _session_query(tenant_id: str, session_id: str):
    return partial(
        Execution.by_session.query,
        session_key(tenant_id, session_id),
        filter_condition=Execution.expires_at > clock.now(),
    )


def _summary(query) -> SessionSummary:
    summary = SessionSummary()
    for page in raw_pages(
        query,
        max_calls=SUMMARY_CALLS,
        page_size=SUMMARY_PAGE,
        scan_index_forward=True,
        attributes_to_get=SUMMARY_ATTRIBUTES,
    ):
        for raw in page.items:
            counters = {
                "count": {"N": "1"},
                "failures": {"N": "0" if raw["status"]["S"] == "succeeded" else "1"},
                **{name: raw[name] for name in ("cost_micro_usd", "tokens_in", "tokens_out") if name in raw},
            }
            summary.totals.add_raw(counters)
            summary.agents.setdefault(raw["agent_id"]["S"], Totals()).add_raw(counters)
            user = raw["user_id"]["S"]
            if user not in summary.users:
                summary.users.append(user)
            if raw["status"]["S"] != "succeeded" and len(summary.failed) < FAILED_SHOWN:
                summary.failed.append(
                    Failure(
                        raw["execution_id"]["S"],
                        raw["agent_id"]["S"],
                        raw["status"]["S"],
                        raw["started_at"]["S"],
                    )
                )
            summary.first = summary.first or raw["started_at"]["S"]
            summary.last = raw["started_at"]["S"]
        summary.complete = not page.next_key
    return summary


def session_page(
    scope: AccessScope,
    session_id: str,
    tenant_id: str | None = None,
    cursor: str | None = None,
    *,
    figures: bool = True,
) -> SessionView:
    """The executions of one session in the order they started, with the whole session's figures
    (`figures=False`, for the next page of rows alone: an empty summary, names of the rows' users).

    DynamoDB calls: the figures 1 query of the session's index (up to SUMMARY_CALLS (10) of 1 MB for
    a session of thousands of runs), the page of rows at most SESSION_CALLS (4), the users' names 1
    BatchGet (none when no user is a dashboard user): 2 or 3 for any session of fewer than some
    thousand runs, 15 at most. A session with no kept execution of the reader's tenant (another
    tenant's, or none) is NotFound.
    """
    tenant_id = resolve_tenant(scope, tenant_id) or scope.require_tenant()
    if not is_valid_id(session_id):
        raise NotFound("That session was not found.")
    query = _session_query(tenant_id, session_id)
    summary = _summary(query) if figures else SessionSummary()
    if figures and not summary.totals.count:
        raise NotFound("That session was not found (executions are kept for 180 days).")
    purpose = f"session:{tenant_id}:{session_id}"
    items, _, key = read_bounded(
        query,
        Execution,
        limit=SESSION_PAGE,
        max_calls=SESSION_CALLS,
        start=decode_cursor(cursor, purpose),
        page_size=SESSION_PAGE,
        scan_index_forward=True,
    )
    if not figures and not items and not cursor:
        raise NotFound("That session was not found (executions are kept for 180 days).")
    users = summary.users if figures else [execution.user_id for execution in items]
    return SessionView(
        session_id,
        tenant_id,
        summary,
        ExecutionPage(items=items, next_cursor=encode_cursor(key, purpose)),
        people_of(users, tenant_id),
    )


@dataclass
class Seen:
    """A session or agent among the person's latest runs."""

    value: str
    totals: Totals = field(default_factory=Totals)
    last: str = ""


@dataclass
class PersonView:
    user_id: str
    tenant_id: str
    period: Period
    days: dict  # {date: Totals} of the period, every day
    totals: Totals
    tenant_totals: Totals
    page: ExecutionPage  # the latest runs, newest first
    sessions: list[Seen]
    agents: list[Seen]
    people: dict[str, tuple[str, str]]

    @property
    def share(self) -> float | None:
        """The person's share of the tenant's cost over the period."""
        whole = self.tenant_totals.cost_micro_usd
        return self.totals.cost_micro_usd / whole if whole else None

    def chart_data(self) -> dict:
        """Each day's cost (micro-USD), runs and failures, for the chart (every day, zeros included)."""
        return {
            "labels": [day.isoformat() for day in self.days],
            "cost": [day.cost_micro_usd for day in self.days.values()],
            "runs": [day.count for day in self.days.values()],
            "failures": [day.failures for day in self.days.values()],
        }

    @property
    def peak_cost(self) -> int:
        return max((day.cost_micro_usd for day in self.days.values()), default=0)


def _seen(items: list[Execution], attribute: str) -> list[Seen]:
    found: dict[str, Seen] = {}
    for execution in items:  # newest first: the first seen is the latest
        value = getattr(execution, attribute)
        if not value:
            continue
        seen = found.get(value)
        if seen is None:
            seen = found[value] = Seen(value, last=execution.started_at)
        seen.totals.add_execution(execution, histogram=False)
    return list(found.values())


def person_page(
    scope: AccessScope,
    user_id: str,
    period: Period,
    tenant_id: str | None = None,
    cursor: str | None = None,
    before: str | None = None,
    *,
    figures: bool = True,
) -> PersonView:
    """One end user over a period: their cost, runs and failures by day (rollups), their share of the
    tenant's cost, and their latest runs (any time kept) with the sessions and agents among them.

    DynamoDB calls: the days 1 BatchGet per 100 days (1 for the presets up to 90 days, 4 at most for a
    year), the tenant's total 1 query of its daily `total` rows, the latest runs at most
    history.MAX_CALLS (4) queries of the user index (8 going back to the first page), the name 1
    BatchGet (none when the id is not a dashboard user's): 3 or 4 for a preset period, 14 at most.
    `figures=False` (another page of the runs alone) reads neither the days nor the tenant's total.
    A person with no execution kept and nothing in the period (another tenant's, or none) is NotFound.
    """
    tenant_id = resolve_tenant(scope, tenant_id) or scope.require_tenant()
    if not is_valid_id(user_id):
        raise NotFound("That person was not found.")
    days = by_day(tenant_id, "user", user_id, period.start, period.end) if figures else {}
    totals = Totals()
    for day in days.values():
        totals.merge(day)
    page = list_executions(
        scope,
        ExecutionFilters(user_id=user_id),
        tenant_id=tenant_id,
        cursor=cursor,
        before=before,
        limit=PAGE_SIZE,
    )
    if not totals.count and not page.items and not (cursor or before):
        raise NotFound("That person has no executions kept (executions are kept for 180 days).")
    tenant_totals = Totals()
    for row in daily(tenant_id, "total", period.start, period.end).values() if figures else ():
        tenant_totals.merge(row)
    return PersonView(
        user_id,
        tenant_id,
        period,
        days,
        totals,
        tenant_totals,
        page,
        _seen(page.items, "session_id"),
        _seen(page.items, "agent_id"),
        people_of([user_id], tenant_id),
    )
