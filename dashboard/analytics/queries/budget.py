"""The month against its budget: spend so far, the forecast at the recent run rate."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from dashboard.analytics.queries.rollup_reads import daily
from dashboard.analytics.rollups import Totals

#
# Where the month stands against its budget.
#
# Forecast to month end = month-to-date spend + daily run rate × the days left in the month (the
# fraction of today included), where the daily run rate is the average spend of the last 7 complete
# UTC days. A week smooths out weekends, and early in a month it still has real data to go on
# (it reaches back into the previous month) instead of extrapolating a few hours.
# Warnings: "over" when month-to-date spend is above the budget, "forecast_over" when the forecast is.

RUN_RATE_DAYS = 7
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


def budget_window(now: datetime) -> tuple[date, date]:
    """The days the budget status reads: the month so far and the run-rate week before today."""
    today = now.astimezone(UTC).date()
    return min(today.replace(day=1), today - timedelta(days=RUN_RATE_DAYS)), today


def budget_status(
    tenant_id: str,
    budget: int | None,
    now: datetime,
    rows: dict[tuple[str, str], Totals] | None = None,
) -> BudgetStatus:
    """`rows`: the daily `total` rows of (at least) `budget_window(now)` if the caller has them."""
    today = now.astimezone(UTC).date()
    month_start = today.replace(day=1)
    window_start = today - timedelta(days=RUN_RATE_DAYS)
    if rows is None:
        rows = daily(tenant_id, "total", *budget_window(now))
    cost_by_day: dict[str, int] = {}
    for (day, _), totals in rows.items():
        cost_by_day[day] = cost_by_day.get(day, 0) + totals.cost_micro_usd
    month_to_date = sum(
        cost for day, cost in cost_by_day.items() if month_start.isoformat() <= day <= today.isoformat()
    )
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
