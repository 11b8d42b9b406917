"""Rollup reads whose cost does not grow with the number of executions, days or distinct values.

Light path: rows are read with the plain DynamoDB client and summed from the wire format, so no
PynamoDB object is built per counter row.

- `daily`: the daily rows of one small dimension (total, model, status) over a range: one query
  (paged past 1 MB only), days × values of that dimension, shards folded.
- `top`: the exact top `k` agents / models / users of any range of days, read from the ranked rows
  of the whole buckets covering the range (`rollups.buckets_covering`: months, ISO weeks, days), each
  bucket's rows sorted by cost in the `rank` index. Fagin's threshold algorithm: read each bucket's
  best rows, fetch the missing buckets of the candidates that could still be in the top `k`, and
  stop when no value not yet seen can reach the k-th cost (its cost in a bucket is at most the last
  one read there). The answer is exact; what is read depends on `k` and on how skewed the costs
  are, not on how many values there are.
- `figures`: the exact totals of given values over a range (the previous period of a top list).
"""

from __future__ import annotations

import calendar
import contextvars
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from dashboard.analytics import rollups
from dashboard.analytics.models import ExecutionRollup
from dashboard.analytics.rollups import Totals

BATCH_GET_LIMIT = 100
FIRST_PAGE = 60
COUNTER_PROJECTION = "pk, sk, #c, failures, cost_micro_usd, tokens_in, tokens_out, duration_ms_sum"
NAMES = {"#c": "count"}  # `count` is a DynamoDB reserved word


_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="analytics-read")


def side_by_side(jobs: dict[str, Callable]) -> dict:
    """Run independent reads at once; each in a copy of the caller's context, so the request's
    DynamoDB call counting (dashboard.dynamo.metrics) and request cache see them."""
    futures = {name: _pool.submit(contextvars.copy_context().run, job) for name, job in jobs.items()}
    return {name: future.result() for name, future in futures.items()}


def _client():
    return ExecutionRollup._get_connection().connection.client


def _table() -> str:
    return ExecutionRollup.Meta.table_name


def _query(**kwargs) -> list[dict]:
    items: list[dict] = []
    while True:
        answer = _client().query(TableName=_table(), **kwargs)
        items += answer.get("Items", [])
        if "LastEvaluatedKey" not in answer:
            return items
        kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


def daily(
    tenant_id: str, dimension: str, start: date, end: date, histogram: bool = False
) -> dict[tuple[str, str], Totals]:
    """{(day, value): totals} of `start`…`end` (inclusive) for a daily dimension."""
    extra = (
        {} if histogram else {"ProjectionExpression": COUNTER_PROJECTION, "ExpressionAttributeNames": NAMES}
    )
    items = _query(
        KeyConditionExpression="pk = :pk AND sk BETWEEN :lo AND :hi",
        ExpressionAttributeValues={
            ":pk": {"S": rollups.pk(tenant_id, dimension)},
            ":lo": {"S": f"{start.isoformat()}#"},
            ":hi": {"S": f"{end.isoformat()}#~"},
        },
        **extra,
    )
    rows: dict[tuple[str, str], Totals] = defaultdict(Totals)
    for item in items:
        rows[rollups.split_sk(item["sk"]["S"])].add_raw(item)
    return rows


def _batch_get(keys: list[tuple[str, str]]) -> dict[tuple[str, str], Totals]:
    """Exact totals of ranked rows by (pk, sk); an absent row is zero."""
    found: dict[tuple[str, str], Totals] = {key: Totals() for key in keys}
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), BATCH_GET_LIMIT):
        request = {
            _table(): {
                "Keys": [
                    {"pk": {"S": p}, "sk": {"S": s}} for p, s in unique[start : start + BATCH_GET_LIMIT]
                ],
                "ProjectionExpression": COUNTER_PROJECTION,
                "ExpressionAttributeNames": NAMES,
            }
        }
        while request:
            answer = _client().batch_get_item(RequestItems=request)
            for item in answer.get("Responses", {}).get(_table(), []):
                found[(item["pk"]["S"], item["sk"]["S"])].add_raw(item)
            request = answer.get("UnprocessedKeys") or {}
    return found


@dataclass
class _Bucket:
    """One bucket's rows in the rank index, read best first, page by page."""

    pk: str
    last_cost: int | None = None  # cost of the last row read (None: nothing read yet)
    cursor: dict | None = None
    exhausted: bool = False

    def bound(self) -> int:
        """The most any value not read here yet can have in this bucket."""
        if self.exhausted:
            return 0
        return self.last_cost if self.last_cost is not None else 10**18

    def read(self, limit: int, known: dict[tuple[str, str], Totals]) -> None:
        kwargs: dict = {
            "IndexName": ExecutionRollup.by_cost.Meta.index_name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": self.pk}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if self.cursor:
            kwargs["ExclusiveStartKey"] = self.cursor
        answer = _client().query(TableName=_table(), **kwargs)
        for item in answer.get("Items", []):
            totals = Totals()
            totals.add_raw(item)
            known[(self.pk, item["sk"]["S"])] = totals
            self.last_cost = totals.cost_micro_usd
        self.cursor = answer.get("LastEvaluatedKey")
        self.exhausted = self.cursor is None


def top(
    tenant_id: str, dimension: str, start: date, end: date, k: int, first_page: int = FIRST_PAGE
) -> list[tuple[str, Totals]]:
    """The exact `k` costliest values of `start`…`end`, ties by name, with their full totals."""
    buckets = [
        _Bucket(rollups.ranked_pk(tenant_id, dimension, b)) for b in rollups.buckets_covering(start, end)
    ]
    if not buckets or k <= 0:
        return []
    known: dict[tuple[str, str], Totals] = {}
    # Ranked rows are small (about 150 bytes): a first page of FIRST_PAGE costs about one read unit
    # and usually settles the list in one round, where a page of k would need several.
    page = max(k, first_page)
    for bucket in buckets:
        bucket.read(page, known)
    while True:
        values = {value for _, value in known}
        lower = {
            v: sum(known[(b.pk, v)].cost_micro_usd for b in buckets if (b.pk, v) in known) for v in values
        }
        upper = {v: lower[v] + sum(b.bound() for b in buckets if (b.pk, v) not in known) for v in values}
        kth = sorted(lower.values(), reverse=True)[k - 1] if len(values) >= k else 0
        # Candidates that could still be in the top k get their missing buckets read exactly.
        missing = [(b.pk, v) for v in values if upper[v] >= kth for b in buckets if (b.pk, v) not in known]
        if missing:
            known.update(_batch_get(missing))
            continue
        threshold = sum(bucket.bound() for bucket in buckets)
        if all(bucket.exhausted for bucket in buckets) or (len(values) >= k and kth > threshold):
            break
        page = min(page * 4, 1_000)
        for bucket in buckets:
            if not bucket.exhausted:
                bucket.read(page, known)
    sums: dict[str, Totals] = {}
    for (_, value), totals in known.items():
        sums.setdefault(value, Totals()).merge(totals)
    ordered = sorted(sums.items(), key=lambda item: (-item[1].cost_micro_usd, item[0]))
    return [(value, totals) for value, totals in ordered[:k] if totals.count or totals.cost_micro_usd]


def figures(tenant_id: str, dimension: str, start: date, end: date, values: list[str]) -> dict[str, Totals]:
    """Exact totals of `values` over `start`…`end` (zero for a value without executions)."""
    buckets = [rollups.ranked_pk(tenant_id, dimension, b) for b in rollups.buckets_covering(start, end)]
    found = _batch_get([(b, value) for value in values for b in buckets])
    sums = {value: Totals() for value in values}
    for (_, value), totals in found.items():
        sums[value].merge(totals)
    return sums


# --- the month against its budget ------------------------------------------------------------
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


def budget_status(tenant_id: str, budget: int | None, now: datetime) -> BudgetStatus:
    today = now.astimezone(UTC).date()
    month_start = today.replace(day=1)
    window_start = today - timedelta(days=RUN_RATE_DAYS)
    cost_by_day: dict[str, int] = {}
    for (day, _), totals in daily(tenant_id, "total", min(month_start, window_start), today).items():
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
