"""Monthly budgets: setting one (versioned, audited) and where the month stands against it.

Forecast to month end = month-to-date spend + daily run rate × the days left in the month (the
fraction of today included), where the daily run rate is the average spend of the last 7 complete
UTC days. A week smooths out weekends, and early in a month it still has real data to go on
(it reaches back into the previous month) instead of extrapolating a few hours.
Warnings: "over" when month-to-date spend is above the budget, "forecast_over" when the forecast is.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dashboard.accounts import audit
from dashboard.accounts.scope import STAFF, TENANT_ADMIN, AccessScope
from dashboard.accounts.services import TENANTS_KEY, get_tenant
from dashboard.analytics import queries
from dashboard.analytics.tenancy import resolve_tenant
from dashboard.core import request_cache
from dashboard.core.errors import Conflict, ValidationFailed
from dashboard.dynamo.transactions import save_together

RUN_RATE_DAYS = 7
MAX_BUDGET_MICRO_USD = 10**15  # one billion dollars
SECONDS_PER_DAY = 86_400


@dataclass
class BudgetStatus:
    budget_micro_usd: int | None
    month_to_date_micro_usd: int
    forecast_micro_usd: int
    daily_rate_micro_usd: int
    month: str  # "November 2025"
    state: str  # none | ok | forecast_over | over

    @property
    def used_percent(self) -> int | None:
        if not self.budget_micro_usd:
            return None
        return round(100 * self.month_to_date_micro_usd / self.budget_micro_usd)

    @property
    def forecast_percent(self) -> int | None:
        if not self.budget_micro_usd:
            return None
        return round(100 * self.forecast_micro_usd / self.budget_micro_usd)

    def as_dict(self) -> dict:
        return {
            "budget_micro_usd": self.budget_micro_usd,
            "month_to_date_micro_usd": self.month_to_date_micro_usd,
            "forecast_micro_usd": self.forecast_micro_usd,
            "daily_rate_micro_usd": self.daily_rate_micro_usd,
            "month": self.month,
            "state": self.state,
        }


def forecast(month_to_date: int, last_days_spend: int, now: datetime) -> tuple[int, int]:
    """(forecast, daily rate) in micro-USD, integers rounded half up (see the module docstring)."""
    now = now.astimezone(UTC)
    days_in_month = calendar.monthrange(now.year, now.month)[1]
    month_end = datetime(now.year, now.month, 1, tzinfo=UTC) + timedelta(days=days_in_month)
    seconds_left = int((month_end - now).total_seconds())
    window = RUN_RATE_DAYS * SECONDS_PER_DAY
    rest = (2 * last_days_spend * seconds_left + window) // (2 * window)
    rate = (2 * last_days_spend + RUN_RATE_DAYS) // (2 * RUN_RATE_DAYS)
    return month_to_date + rest, rate


def budget_status(tenant_id: str, budget: int | None, now: datetime) -> BudgetStatus:
    today = now.astimezone(UTC).date()
    month_start = today.replace(day=1)
    window_start = today - timedelta(days=RUN_RATE_DAYS)
    cost_by_day: dict[str, int] = {}
    for (day, _), totals in queries.daily(tenant_id, "total", min(month_start, window_start), today).items():
        cost_by_day[day] = cost_by_day.get(day, 0) + totals.cost_micro_usd
    month_to_date = sum(cost for day, cost in cost_by_day.items() if day >= month_start.isoformat())
    last_days = sum(
        cost for day, cost in cost_by_day.items() if window_start.isoformat() <= day < today.isoformat()
    )
    projected, rate = forecast(month_to_date, last_days, now)
    if budget is None:
        state = "none"
    elif month_to_date > budget:
        state = "over"
    elif projected > budget:
        state = "forecast_over"
    else:
        state = "ok"
    return BudgetStatus(budget, month_to_date, projected, rate, f"{today:%B %Y}", state)


def set_budget(
    scope: AccessScope, tenant_id: str | None, budget_micro_usd: int | None, expected_version: int | None
):
    """Set (or clear, with None) the tenant's monthly budget; the loser of a race gets Conflict."""
    scope.require_role(STAFF, TENANT_ADMIN)
    tenant_id = resolve_tenant(scope, tenant_id)
    if tenant_id is None:
        scope.require_tenant()
    if budget_micro_usd is not None and not 0 < budget_micro_usd <= MAX_BUDGET_MICRO_USD:
        raise ValidationFailed(
            "The budget is not valid.", {"budget": "Enter an amount above $0 (leave empty for no budget)."}
        )
    tenant = get_tenant(tenant_id)
    if expected_version is not None and tenant.version != expected_version:
        raise Conflict(_conflict_message(tenant))
    before = tenant.monthly_budget_micro_usd
    tenant.monthly_budget_micro_usd = budget_micro_usd
    event = audit.build_event(
        scope,
        "budget.set",
        "tenant",
        tenant_id,
        tenant_id=tenant_id,
        changes={"monthly_budget_micro_usd": [before, budget_micro_usd]},
    )
    try:
        save_together([tenant, event], "")  # the tenant carries its version condition
    except Conflict:
        raise Conflict(_conflict_message(get_tenant(tenant_id))) from None
    request_cache.forget(TENANTS_KEY)
    return tenant


def _conflict_message(tenant) -> str:
    from dashboard.core.templatetags.dashboard import money

    now = money(tenant.monthly_budget_micro_usd) if tenant.monthly_budget_micro_usd else "no budget"
    return f"Someone else changed this budget meanwhile (it is now {now}). Review it and save again."
