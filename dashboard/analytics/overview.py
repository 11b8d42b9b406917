"""The cost overview: headline figures with change, daily cost by model, top lists, failures, budget.

Everything comes from rollup rows, so the number of DynamoDB calls depends on the number of days
and of distinct agents/models/users/statuses, never on the number of executions:
one tenant = 5 rollup queries + the tenant item + 1 query for the budget; staff over all tenants =
the tenant list + 1 query per tenant.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from dashboard.accounts.scope import AccessScope
from dashboard.accounts.services import get_tenant, list_tenants
from dashboard.analytics import budgets, reading
from dashboard.analytics.periods import Period
from dashboard.analytics.rollups import Totals
from dashboard.analytics.tenancy import resolve_tenant
from dashboard.core import clock

TOP_LIMIT = 10


@dataclass
class Ranked:
    value: str
    totals: Totals
    share: float | None  # of the period's total cost (status rows: of its executions)


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
    statuses: list[Ranked] = field(default_factory=list)
    tenants: list[TenantRow] = field(default_factory=list)
    budget: budgets.BudgetStatus | None = None
    budget_version: int | None = None

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

    def as_dict(self) -> dict:
        def totals(t: Totals) -> dict:
            return {
                "cost_micro_usd": t.cost_micro_usd,
                "executions": t.count,
                "failures": t.failures,
                "success_rate": t.success_rate,
                "avg_ms": t.avg_ms,
                "p50_ms": t.p50_ms,
                "p95_ms": t.p95_ms,
                "tokens_in": t.tokens_in,
                "tokens_out": t.tokens_out,
            }

        def ranked(rows: list[Ranked]) -> list[dict]:
            return [{"value": r.value, "share": r.share, **totals(r.totals)} for r in rows]

        return {
            "tenant_id": self.tenant_id,
            "period": {
                "start": self.period.start.isoformat(),
                "end": self.period.end.isoformat(),
                "days": self.period.days,
            },
            "previous_period": {
                "start": self.period.previous.start.isoformat(),
                "end": self.period.previous.end.isoformat(),
            },
            "current": totals(self.current),
            "previous": totals(self.previous),
            "changes": {h.key: h.change for h in self.headlines},
            "daily": {
                "days": [day.isoformat() for day in self.days],
                "executions": self.daily_count,
                f"cost_micro_usd_by_{self.series_by}": self.daily_cost,
            },
            "top_agents": ranked(self.top_agents),
            "top_models": ranked(self.top_models),
            "top_users": ranked(self.top_users),
            "statuses": ranked(self.statuses),
            "tenants": [
                {"tenant_id": row.tenant_id, "name": row.name, "share": row.share, **totals(row.current)}
                for row in self.tenants
            ],
            "budget": self.budget.as_dict() if self.budget else None,
        }


def change(current, previous) -> float | None:
    """Relative change (0.25 = +25 %), or None when there is nothing to compare with."""
    if current is None or not previous:
        return None
    return (current - previous) / previous


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _ranked(rows, by_count: bool = False) -> list[Ranked]:
    grouped: dict[str, Totals] = defaultdict(Totals)
    for row in rows:
        _, value = reading.split_sk(row)
        grouped[value].add_row(row)
    whole = sum((t.count if by_count else t.cost_micro_usd) for t in grouped.values())
    ordered = sorted(
        grouped.items(), key=lambda item: (-(item[1].count if by_count else item[1].cost_micro_usd), item[0])
    )
    return [
        Ranked(value, totals, _share(totals.count if by_count else totals.cost_micro_usd, whole))
        for value, totals in ordered
    ]


def _split_periods(rows, period: Period) -> tuple[Totals, Totals, dict[str, int], dict[str, int]]:
    current, previous = Totals(), Totals()
    cost_by_day: dict[str, int] = {}
    count_by_day: dict[str, int] = {}
    start = period.start.isoformat()
    for row in rows:
        day, _ = reading.split_sk(row)
        if day >= start:
            current.add_row(row)
            cost_by_day[day] = cost_by_day.get(day, 0) + int(row.cost_micro_usd or 0)
            count_by_day[day] = count_by_day.get(day, 0) + int(row.count or 0)
        else:
            previous.add_row(row)
    return current, previous, cost_by_day, count_by_day


def build(
    scope: AccessScope, period: Period, tenant_id: str | None = None, now: datetime | None = None
) -> Overview:
    tenant_id = resolve_tenant(scope, tenant_id)
    now = now or clock.now()
    if tenant_id is None:
        return _all_tenants(period)
    tenant = get_tenant(tenant_id)
    days = period.each_day()
    totals_rows = reading.rows(tenant_id, "total", period.previous.start, period.end)
    current, previous, _, count_by_day = _split_periods(totals_rows, period)
    model_rows = reading.rows(tenant_id, "model", period.start, period.end, counters_only=True)
    daily_cost: dict[str, list[int]] = {}
    index = {day.isoformat(): position for position, day in enumerate(days)}
    for row in model_rows:
        day, model = reading.split_sk(row)
        daily_cost.setdefault(model, [0] * len(days))[index[day]] += int(row.cost_micro_usd or 0)
    statuses = [
        ranked
        for ranked in _ranked(
            reading.rows(tenant_id, "status", period.start, period.end, counters_only=True), by_count=True
        )
        if ranked.value != "succeeded"
    ]
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
        top_agents=_ranked(reading.rows(tenant_id, "agent", period.start, period.end, counters_only=True))[
            :TOP_LIMIT
        ],
        top_models=_ranked(model_rows)[:TOP_LIMIT],
        top_users=_ranked(reading.rows(tenant_id, "user", period.start, period.end, counters_only=True))[
            :TOP_LIMIT
        ],
        statuses=statuses,
        budget=budgets.budget_status(tenant_id, tenant.monthly_budget_micro_usd, now),
        budget_version=tenant.version,
    )


def _all_tenants(period: Period) -> Overview:
    days = period.each_day()
    index = {day.isoformat(): position for position, day in enumerate(days)}
    current, previous = Totals(), Totals()
    daily_cost: dict[str, list[int]] = {}
    daily_count = [0] * len(days)
    tenants: list[TenantRow] = []
    for tenant in list_tenants():
        rows = reading.rows(tenant.tenant_id, "total", period.previous.start, period.end)
        mine, before, cost_by_day, count_by_day = _split_periods(rows, period)
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
    )


def recent_values(scope: AccessScope, tenant_id: str, days: int = 7) -> dict[str, list[str]]:
    """Agents, models and users with executions in the last `days` days, most expensive first.

    Suggestions for the history filters (which also take any other value typed in).
    """
    tenant_id = resolve_tenant(scope, tenant_id)
    if tenant_id is None:
        return {}
    period = Period.last(days, clock.now().date())
    return {
        dimension: [
            ranked.value for ranked in _ranked(reading.rows(tenant_id, dimension, period.start, period.end))
        ]
        for dimension in ("agent", "model", "user")
    }
