"""The cost overview: headline figures with change, daily cost by model, top lists, failures, budget.

Reads are bounded whatever the number of executions, days of history or distinct agents/users
(dashboard.analytics.queries), in three rounds of side-by-side reads:
1. one query each on the daily total rows (both periods), model and status rows (this period:
   models are few, their daily rows draw the chart and rank the top models; the budget comes from
   the total rows when the period ends today), and one batch read of the digests of both periods'
   settled days (dashboard.analytics.compaction) with the price-change markers (are these figures
   older than a staff price change?) riding along;
2. the top agents (this period and the previous one, for the drivers), users, environments, tags,
   sessions and templates (issue #28: a tag's figures are those of the executions carrying it) by the threshold
   algorithm over the digest and today's bucket: a query for today's bucket (more pages only when
   many candidates need its rows); a range no digest holds reads its buckets and their kept first
   pages instead (one more batch read);
3. one batch read for the previous period of the listed agents, users, models, environments,
   tags, sessions and templates and the drivers' missing figures, beside it the listed templates'
   names (one batch read of the marketplace's, dashboard.marketplace.queries.template_names, none
   when no template is listed), then the settled pages read live in this request are kept (a batch
   write).
The models with tokens but no cost come from the model rows of round 1; whether they have a price
now asks the staff prices, which each process keeps for `pricing.cache_seconds()` (2 queries at most
once per that time).
Filters (issue #28 §2, `inputs.OverviewFilter`):
- an environment: the same reads as above on the environment's sub-scope `tenant@environment`
  (rollups.scope_id: its own daily and ranked rows, digests and kept pages), so every figure is of its
  executions and the bounds are the unfiltered page's; no environment or tag lists (a sub-scope has
  no such rows: the page says tags are not split), no budget (it is the tenant's: the page says so),
  and one more query for the filter's choices: the tenant's ten costliest environments of the month
  of the period's end (`costliest_in`, the rank index; the unfiltered page offers its top list).
- a tag: the headline figures, their change and the daily series from the tag's own ranked rows
  (exact: the executions carrying it), one BatchGet of its day rows of the period (2 past 100 days)
  and one of its rows of the buckets covering the previous period; the top lists, drivers, failures
  by status and latency percentiles are not split by tag and not shown (the page says so).
Measured (bench_analytics_cardinality, every shape): 11–14 calls, the session's and the tenant's
reads included, before the environment and tag lists (+1 query of today's bucket each) and the
price markers joining the digest read (−1); the session and template lists (issue #28) add a query
of today's bucket each, their digests ride in the same batch read, and the template names are one
batch read when a template is listed. Measured with them (BENCH_CARD_EXECUTIONS=30000, runs in 10,000
conversations, every shape): 14–15 calls, 44–58 read units; a list alone 3–4 calls, the sessions'
17–21.5 read units (their digests hold thousands of rows), the others' 4–4.5. Thousands of sessions
a day stay bounded: a session a digest left out (it keeps the DIGEST_ROWS costliest) is read from the
one tail its hash names (tests: 2,000 sessions read 14 calls where 20 read 13). Staff over all tenants: the tenant list + one query per tenant + the price-change read.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from dashboard.accounts.queries import display_names, get_tenant, list_tenants
from dashboard.analytics import queries, rollups
from dashboard.analytics.inputs import OverviewFilter, Period, resolve_tenant
from dashboard.analytics.queries import BudgetStatus, budget_status
from dashboard.analytics.rollups import Totals
from dashboard.core import clock
from dashboard.core.errors import ValidationFailed
from dashboard.core.scope import AccessScope
from dashboard.dynamo.parallel import side_by_side
from dashboard.marketplace.queries import template_names

TOP_LIMIT = 10
# The ranked dimensions listed beside agents, users and models (issue #28), each with its previous period.
LISTED = ("environment", "tag", "session", "template")
SORTS = {
    "cost": lambda r: r.totals.cost_micro_usd,
    "change": lambda r: r.cost_change or 0,
    "runs": lambda r: r.totals.count,
}


@dataclass
class Ranked:
    value: str
    totals: Totals
    share: float | None  # of the period's total cost (status rows: of its executions)
    previous: Totals | None = None  # the same value in the previous period
    label: str | None = None  # a dashboard user's name, shown instead of the id
    link: str | None = None  # a metadata value's row: the overview filtered by it (the view sets it)

    @property
    def cost_change(self) -> int | None:
        if self.previous is None:
            return None
        return self.totals.cost_micro_usd - self.previous.cost_micro_usd

    @property
    def cost_change_ratio(self) -> float | None:
        return (
            None
            if self.previous is None
            else change(self.totals.cost_micro_usd, self.previous.cost_micro_usd)
        )


@dataclass
class Driver:
    """One value's part of the total change: Δ cost = volume effect + unit-cost effect, exactly.

    volume = (runs now − runs before) × cost per run before; unit cost = runs now × (cost per run now
    − cost per run before). "Everyone else" holds the rest, so the contributions sum to the change.
    """

    value: str
    current: Totals
    previous: Totals
    other: bool = False

    @property
    def change(self) -> int:
        return self.current.cost_micro_usd - self.previous.cost_micro_usd

    @property
    def volume_effect(self) -> int | None:
        if self.other:
            return None
        if not self.previous.count:
            return self.change  # new: all of it is volume
        return round(
            (self.current.count - self.previous.count) * self.previous.cost_micro_usd / self.previous.count
        )

    @property
    def unit_cost_effect(self) -> int | None:
        volume = self.volume_effect
        return None if volume is None else self.change - volume


@dataclass
class TenantRow:
    tenant_id: str
    name: str
    current: Totals
    previous: Totals
    share: float | None

    @property
    def cost_change(self) -> float | None:
        return change(self.current.cost_micro_usd, self.previous.cost_micro_usd)


@dataclass
class Headline:
    key: str
    label: str
    current: float | int | None
    previous: float | int | None
    kind: str  # money | count | percent | ms
    better_when: str  # up | down: which direction is good news

    @property
    def change(self) -> float | None:
        if self.kind == "percent":
            if self.current is None or self.previous is None:
                return None
            return self.current - self.previous  # percentage points
        return change(self.current, self.previous)

    @property
    def tone(self) -> str:
        delta = self.change
        if not delta:
            return "muted"
        good = (delta > 0) == (self.better_when == "up")
        return "ok" if good else "bad"


@dataclass
class Overview:
    period: Period
    tenant_id: str | None  # None: staff, every tenant
    tenant_name: str
    current: Totals
    previous: Totals
    days: list[date]
    series_by: str  # what the daily chart is stacked by: model | tenant
    daily_cost: dict[str, list[int]] = field(default_factory=dict)
    daily_count: list[int] = field(default_factory=list)
    top_agents: list[Ranked] = field(default_factory=list)
    top_models: list[Ranked] = field(default_factory=list)
    top_users: list[Ranked] = field(default_factory=list)
    # Issue #28: a tag's figures are those of the executions carrying it (shares may sum past 100 %).
    top_environments: list[Ranked] = field(default_factory=list)
    top_tags: list[Ranked] = field(default_factory=list)
    top_sessions: list[Ranked] = field(default_factory=list)
    top_templates: list[Ranked] = field(default_factory=list)  # label: the name, when the scope may see it
    statuses: list[Ranked] = field(default_factory=list)
    tenants: list[TenantRow] = field(default_factory=list)
    budget: BudgetStatus | None = None
    budget_version: int | None = None
    drivers: list[Driver] = field(default_factory=list)
    unpriced: list[queries.Unpriced] = field(default_factory=list)  # models with tokens and no cost
    prices_changed_since: str | None = None  # a staff price changed after these figures were made
    filter: OverviewFilter = field(default_factory=OverviewFilter)
    # Under a filter: what the page does not split by it (shown as such, never as unfiltered figures).
    not_split: list[str] = field(default_factory=list)
    # The environment filter's choices: the tenant's, costliest first.
    environments: list[str] = field(default_factory=list)
    # The tenant's counted metadata keys (Tenant.metadata_dimensions) and each one's top values.
    metadata_keys: list[str] = field(default_factory=list)
    top_metadata: list[tuple[str, list[Ranked]]] = field(default_factory=list)

    @property
    def cost_change(self) -> int:
        return self.current.cost_micro_usd - self.previous.cost_micro_usd

    def sort_tops(self, key: str) -> None:
        """Order the top tables (the period's ten costliest of each) by cost, change or runs."""
        order = SORTS.get(key)
        if order is None:
            return
        for rows in self.ranked_lists + [rows for _, rows in self.top_metadata]:
            rows.sort(key=lambda r: (-order(r), r.value))

    @property
    def ranked_lists(self) -> list[list[Ranked]]:
        return [
            self.top_agents,
            self.top_models,
            self.top_users,
            self.top_environments,
            self.top_tags,
            self.top_sessions,
            self.top_templates,
        ]

    @property
    def headlines(self) -> list[Headline]:
        cur, prev = self.current, self.previous
        rate = lambda t: None if t.success_rate is None else round(100 * t.success_rate, 2)  # noqa: E731
        return [
            Headline("cost", "Total cost", cur.cost_micro_usd, prev.cost_micro_usd, "money", "down"),
            Headline("executions", "Executions", cur.count, prev.count, "count", "up"),
            Headline("success_rate", "Success rate", rate(cur), rate(prev), "percent", "up"),
            Headline("p50_ms", "p50 latency", cur.p50_ms, prev.p50_ms, "ms", "down"),
            Headline("p95_ms", "p95 latency", cur.p95_ms, prev.p95_ms, "ms", "down"),
            Headline("tokens", "Tokens", cur.tokens, prev.tokens, "count", "up"),
        ]

    def chart_data(self) -> dict:
        return {
            "labels": [day.isoformat() for day in self.days],
            "series": [
                {"label": name, "data": values}
                for name, values in sorted(self.daily_cost.items(), key=lambda item: -sum(item[1]))
            ],
            "executions": self.daily_count,
        }


def change(current, previous) -> float | None:
    """Relative change (0.25 = +25 %), or None when there is nothing to compare with."""
    if current is None or not previous:
        return None
    return (current - previous) / previous


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _by_value(rows: dict[tuple[str, str], Totals]) -> dict[str, Totals]:
    grouped: dict[str, Totals] = defaultdict(Totals)
    for (_, value), totals in rows.items():
        grouped[value].merge(totals)
    return grouped


def _statuses(rows: dict[tuple[str, str], Totals]) -> list[Ranked]:
    grouped = _by_value(rows)
    whole = sum(t.count for t in grouped.values())
    ordered = sorted(grouped.items(), key=lambda item: (-item[1].count, item[0]))
    return [
        Ranked(value, totals, _share(totals.count, whole))
        for value, totals in ordered
        if value != "succeeded"
    ]


@dataclass
class Split:
    """Daily total rows of the period and its previous period, summed."""

    current: Totals = field(default_factory=Totals)
    previous: Totals = field(default_factory=Totals)
    cost_by_day: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # the period's days
    count_by_day: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def _split_periods(rows: dict[tuple[str, str], Totals], period: Period) -> Split:
    """`rows` run from the previous period's start to the period's end; a month so far leaves a gap
    between the two (Nov 8–30 for Dec 1–7 against Nov 1–7) that counts in neither."""
    split = Split()
    start, end = period.start.isoformat(), period.end.isoformat()
    before = (period.previous.start.isoformat(), period.previous.end.isoformat())
    for (day, _), totals in rows.items():
        if start <= day <= end:
            split.current.merge(totals)
            split.cost_by_day[day] += totals.cost_micro_usd
            split.count_by_day[day] += totals.count
        elif before[0] <= day <= before[1]:
            split.previous.merge(totals)
    return split


DRIVER_LIMIT = 5


def drivers(
    top_now: list[Ranked],
    current: Totals,
    previous: Totals,
    before: list[tuple[str, Totals]],
    later: dict[str, Totals],
) -> list[Driver]:
    """The agents that moved the cost most, up and down, and everyone else (sums to the change).

    Candidates: the exact top 10 of this period and of the previous one (an agent that moved the
    cost a lot is in one of them unless the change is spread thin, which "everyone else" then shows);
    `later`: this period's figures of the previous top agents not in this period's top.
    """
    now = {row.value: (row.totals, row.previous) for row in top_now}
    for value, totals in before:
        if value not in now:
            now[value] = (later[value], totals)
    rows = [Driver(value, cur, prev) for value, (cur, prev) in now.items() if prev is not None]
    rows.sort(key=lambda d: (-abs(d.change), d.value))
    shown = [d for d in rows[:DRIVER_LIMIT] if d.change]
    rest_now, rest_before = Totals(), Totals()
    rest_now.merge(current)
    rest_before.merge(previous)
    for d in shown:
        rest_now.cost_micro_usd -= d.current.cost_micro_usd
        rest_now.count -= d.current.count
        rest_before.cost_micro_usd -= d.previous.cost_micro_usd
        rest_before.count -= d.previous.count
    other = Driver("Everyone else", rest_now, rest_before, other=True)
    return shown + ([other] if other.change else [])


ENVIRONMENT_NOT_SPLIT = ["top environments", "top tags", "top sessions", "top templates", "budget"]
TAG_NOT_SPLIT = [
    "top agents", "top models", "top users", "top environments", "top tags", "top sessions", "top templates",
    "drivers", "failures by status", "latency percentiles", "budget",
]  # fmt: skip


def build(
    scope: AccessScope,
    period: Period,
    tenant_id: str | None = None,
    now: datetime | None = None,
    filter: OverviewFilter | None = None,  # noqa: A002 — the page's own word
) -> Overview:
    tenant_id = resolve_tenant(scope, tenant_id)
    now = now or clock.now()
    filter = filter or OverviewFilter()  # noqa: A001
    if tenant_id is None:
        if filter:
            field_name = next(iter(filter.query_args()))
            raise ValidationFailed(
                "Open one tenant to filter its overview.",
                {field_name: "Pick a tenant first: filters apply to one tenant."},
            )
        return _all_tenants(period)
    tenant = get_tenant(tenant_id)
    chosen_keys = list(tenant.metadata_dimensions or [])
    if filter.metadata_key and filter.metadata_key not in chosen_keys:
        counted = ", ".join(chosen_keys) or "none yet"
        raise ValidationFailed(
            "That metadata key is not counted.",
            {
                f"metadata.{filter.metadata_key}": "Only the metadata keys the tenant counts as dimensions "
                f"filter the overview (counted: {counted}); a tenant admin chooses them on this page."
            },
        )
    if filter.by_value:
        return _value_overview(tenant, period, filter)
    # An environment's figures are its sub-scope's rows, read exactly as a tenant's (module docstring).
    rows_id = rollups.scope_id(tenant_id, filter.environment) if filter.environment else tenant_id
    # The tenant's counted metadata keys (not split by environment: a sub-scope has no such rows).
    meta_dimensions = [] if filter.environment else [rollups.metadata_dimension(key) for key in chosen_keys]
    listed_dimensions = ("agent", "user") if filter.environment else ("agent", "user", *LISTED)
    listed_dimensions += tuple(meta_dimensions)
    extra = (*LISTED, *meta_dimensions)  # the lists beside agents, users and models
    days = period.each_day()
    prev = period.previous
    # The budget reads the daily totals of the month and the week before today: the totals read
    # below holds them when the period ends today and starts early enough (the presets but "Last
    # month"), so no read of its own.
    window_start, today = queries.budget_window(now)
    budget_in_totals = prev.start <= window_start and period.end >= today and not filter
    pages = queries.TopPages(today=now.date())
    digest_keys = queries.digest_keys(
        rows_id,
        [
            (dimension, start, end)
            for dimension in ("model", *listed_dimensions)
            for start, end in ((period.start, period.end), (prev.start, prev.end))
        ],
        now.date(),
    )
    price_keys = queries.price_change_keys(tenant_id)
    # Round 1, side by side (latency = the slowest, not the sum): the daily rows, and the digests
    # of the settled days of both periods.
    jobs = {
        "totals": lambda: queries.daily(rows_id, "total", prev.start, period.end, histogram=True),
        # The period's daily model rows draw the chart and rank the top models; the previous
        # period of the listed ones comes from ranked rows in round 3 (a few items, not days ×
        # models × shards).
        "models": lambda: queries.daily(rows_id, "model", period.start, period.end),
        "statuses": lambda: queries.daily(rows_id, "status", period.start, period.end),
        # The digests and the price-change markers (are these figures older than a staff price
        # change?) in one batch read.
        "pages": lambda: pages.load([], digest_keys, also=price_keys),
    }
    if filter.environment:  # the filter's choices: the tenant's environments (not the sub-scope's)
        month = rollups.month_bucket(period.end)
        jobs["environments"] = lambda: queries.costliest_in(tenant_id, "environment", month, TOP_LIMIT)
    elif not budget_in_totals:
        jobs["budget"] = lambda: budget_status(tenant_id, tenant.monthly_budget_micro_usd, now)
    done = side_by_side(jobs)
    done["prices"] = queries.changed_since_of(pages.extra)
    pages.know_days(done["totals"], prev.start, period.end)
    if filter.environment:
        done["budget"] = None  # the tenant's budget: not split by environment (the page says so)
    elif budget_in_totals:
        done["budget"] = budget_status(tenant_id, tenant.monthly_budget_micro_usd, now, done["totals"])

    # Round 2: the top lists (kept pages where they hold, live reads for the rest).
    def top_of(dimension: str, start: date, end: date):
        if dimension not in listed_dimensions:
            return lambda: []
        return lambda: queries.top(rows_id, dimension, start, end, TOP_LIMIT, pages=pages)

    tops = side_by_side({
        "agent": top_of("agent", period.start, period.end),
        "user": top_of("user", period.start, period.end),
        "agents_before": top_of("agent", prev.start, prev.end),
        **{dimension: top_of(dimension, period.start, period.end) for dimension in extra},
    })  # fmt: skip
    # Round 3, one batch: the previous period of the listed agents, users, models, environments,
    # tags, sessions, templates and metadata values, and this period of the previous top agents that
    # left the list (the drivers); beside it, the names of the listed templates (the marketplace's
    # own read).
    listed = {dimension: [value for value, _ in tops[dimension]] for dimension in ("agent", "user", *extra)}
    gone = [value for value, _ in tops["agents_before"] if value not in listed["agent"]]
    models_now = _by_value(done["models"])
    ordered = sorted(models_now.items(), key=lambda item: (-item[1].cost_micro_usd, item[0]))[:TOP_LIMIT]
    asks = [
        ("agent", prev.start, prev.end, listed["agent"]),
        ("user", prev.start, prev.end, listed["user"]),
        ("agent", period.start, period.end, gone),
        ("model", prev.start, prev.end, [value for value, _ in ordered]),
    ]
    # Under an environment filter only agents and users are listed (and models, above).
    more = [dimension for dimension in listed_dimensions if dimension not in ("agent", "user")]
    asks += [(dimension, prev.start, prev.end, listed[dimension]) for dimension in more]
    round_3 = side_by_side({
        "figures": lambda: queries.figures_of(rows_id, asks, pages),
        "template_names": lambda: template_names(scope, listed["template"]),
    })  # fmt: skip
    found = round_3["figures"]
    agents_before, users_before, later, models_before = found[:4]
    before = {dimension: {} for dimension in extra} | dict(zip(more, found[4:], strict=True))
    pages.save()
    done["agent"] = [(v, t, agents_before[v]) for v, t in tops["agent"]]
    done["user"] = [(v, t, users_before[v]) for v, t in tops["user"]]
    for dimension in extra:
        done[dimension] = [(v, t, before[dimension][v]) for v, t in tops[dimension]]
    split = _split_periods(done["totals"], period)
    current, previous, count_by_day = split.current, split.previous, split.count_by_day
    daily_cost: dict[str, list[int]] = {}
    index = {day.isoformat(): position for position, day in enumerate(days)}
    for (day, model), totals in done["models"].items():
        daily_cost.setdefault(model, [0] * len(days))[index[day]] += totals.cost_micro_usd
    whole = current.cost_micro_usd
    top_agents, top_users, top_environments, top_tags, top_sessions, top_templates = (
        [Ranked(v, t, _share(t.cost_micro_usd, whole), p) for v, t, p in done[d]]
        for d in ("agent", "user", *LISTED)
    )
    for row in top_templates:
        row.label = round_3["template_names"].get(row.value)
    top_models = [
        Ranked(value, totals, _share(totals.cost_micro_usd, whole), models_before[value])
        for value, totals in ordered
    ]
    top_metadata = [
        (key, [Ranked(v, t, _share(t.cost_micro_usd, whole), p) for v, t, p in done[dimension]])
        for key, dimension in zip(chosen_keys, meta_dimensions, strict=False)
    ]
    unpriced = queries.unpriced_of(tenant_id, done["models"])
    names = display_names([row.value for row in top_users], tenant_id)
    for row in top_users:
        row.label = names.get(row.value)
    return Overview(
        period=period,
        tenant_id=tenant_id,
        tenant_name=tenant.name,
        current=current,
        previous=previous,
        days=days,
        series_by="model",
        daily_cost=daily_cost,
        daily_count=[count_by_day.get(day.isoformat(), 0) for day in days],
        top_agents=top_agents,
        top_models=top_models,
        top_users=top_users,
        top_environments=top_environments,
        top_tags=top_tags,
        top_sessions=top_sessions,
        top_templates=top_templates,
        statuses=_statuses(done["statuses"]),
        budget=done["budget"],
        budget_version=tenant.version,
        drivers=drivers(top_agents, current, previous, tops["agents_before"], later),
        unpriced=unpriced,
        prices_changed_since=done["prices"],
        filter=filter,
        top_metadata=top_metadata,
        metadata_keys=chosen_keys,
        not_split=(ENVIRONMENT_NOT_SPLIT + (["top metadata values"] if chosen_keys else []))
        if filter.environment
        else [],
        environments=_choices(
            done.get("environments") or [value for value, _ in tops["environment"]], filter
        ),
    )


def _choices(environments: list[str], filter: OverviewFilter) -> list[str]:  # noqa: A002
    """The environment filter's choices: the tenant's top environments, and the one chosen."""
    if filter.environment and filter.environment not in environments:
        return [filter.environment, *environments]
    return environments


def _value_overview(tenant, period: Period, filter: OverviewFilter) -> Overview:  # noqa: A002
    """One tag's or metadata value's headline, change and daily series, from its ranked rows (module
    docstring)."""
    days = period.each_day()
    prev = period.previous
    dimension, value = filter.by_value
    found = side_by_side({
        "days": lambda: queries.by_day(tenant.tenant_id, dimension, value, period.start, period.end),
        "previous": lambda: queries.figures(tenant.tenant_id, dimension, prev.start, prev.end, [value]),
        "prices": lambda: queries.prices_changed_since(tenant.tenant_id),
    })  # fmt: skip
    current = Totals()
    for totals in found["days"].values():
        current.merge(totals)
    series = [found["days"][day].cost_micro_usd for day in days]
    return Overview(
        period=period,
        tenant_id=tenant.tenant_id,
        tenant_name=tenant.name,
        current=current,
        previous=found["previous"][value],
        days=days,
        series_by="tag",  # one series: the tag's or the metadata value's
        daily_cost={value: series} if any(series) else {},
        daily_count=[found["days"][day].count for day in days],
        budget_version=tenant.version,
        prices_changed_since=found["prices"],
        filter=filter,
        not_split=TAG_NOT_SPLIT + (["top metadata values"] if tenant.metadata_dimensions else []),
        metadata_keys=list(tenant.metadata_dimensions or []),
    )


def _all_tenants(period: Period) -> Overview:
    days = period.each_day()
    index = {day.isoformat(): position for position, day in enumerate(days)}
    current, previous = Totals(), Totals()
    daily_cost: dict[str, list[int]] = {}
    daily_count = [0] * len(days)
    tenants: list[TenantRow] = []
    for tenant in list_tenants():
        rows = queries.daily(tenant.tenant_id, "total", period.previous.start, period.end, histogram=True)
        split = _split_periods(rows, period)
        mine, before, cost_by_day, count_by_day = (
            split.current, split.previous, split.cost_by_day, split.count_by_day
        )  # fmt: skip
        current.merge(mine)
        previous.merge(before)
        series = [cost_by_day.get(day.isoformat(), 0) for day in days]
        if any(series):
            daily_cost[tenant.tenant_id] = series
        for day, count in count_by_day.items():
            daily_count[index[day]] += count
        tenants.append(TenantRow(tenant.tenant_id, tenant.name, mine, before, None))
    for row in tenants:
        row.share = _share(row.current.cost_micro_usd, current.cost_micro_usd)
    tenants.sort(key=lambda row: (-row.current.cost_micro_usd, row.tenant_id))
    return Overview(
        period=period,
        tenant_id=None,
        tenant_name="All tenants",
        current=current,
        previous=previous,
        days=days,
        series_by="tenant",
        daily_cost=daily_cost,
        daily_count=daily_count,
        tenants=tenants,
        prices_changed_since=queries.prices_changed_since(None),
    )
