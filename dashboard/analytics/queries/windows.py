"""Figures of a window for alert rules: per tenant, model, agent, user, environment or tag, read from
the rollups only, so the cost does not grow with the number of executions.

A window of whole UTC days (`start`, `end` dates), from the daily and ranked rows (`rollup_reads`):
- `tenant`: the daily `total` rows of the window, one query (with the latency histogram when asked);
- `model`: the daily `model` rows, one query, every model of the window (histogram when asked);
- `agent` / `user` / `environment` / `tag`: given values, their ranked rows of the buckets covering
  the window (one batch read); with the histogram, their day-bucket rows instead (the ranked rows
  that carry it, rollups.HISTOGRAM_RANKED): ⌈days × values / 100⌉ batch reads, one for one value over
  a month (at most `MAX_HISTOGRAM_DAYS` days), half a read unit per day with executions (each row is
  under 1 KB: at most 15.5 units a value over a month); no values: the `k` costliest of the window
  (`top`, exact, without the histogram).

A window of whole UTC hours (`start`, `end` datetimes: the first and last hour's start, at most
`MAX_HOURS` hours), from the hourly rows (`rollups`, kept a few days), for the rolling 1 h and 24 h
windows:
- `tenant` / `model`: one query of the window's hours (its shards; every model), histogram when asked;
- `agent` / `user` / `environment`: given values, one BatchGetItem of hours × values keys (100 a call:
  one call for one value over 25 hours; histogram when asked); no values: the candidates are the `k`
  costliest of the days the window touches (`top`; with `at_least`, only those whose days cost that
  much: a value whose window costs that much is among them), then their hourly rows as for given values;
  (tags too: their hourly rows came with the 1 h and 24 h rules on a tag).

Every value of a window (`window_every`, the "each agent/user/environment/tag" rules on executions,
error rate or p95 latency, which no cost-ordered top list answers): every row of the window's buckets,
so the calls grow with how many values the window has, never with its executions:
- hours: one query of the dimension's hourly rows of the window's hours (paged per 1 MB: about 3,000
  value-hours a page);
- days, with the histogram: one query a day of its day bucket (every value's day row);
- days, without: one query per bucket covering the window (months, weeks and days, as `top` reads).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from dashboard.analytics import rollups
from dashboard.analytics.models import ExecutionRollup
from dashboard.analytics.queries.rollup_reads import (
    COUNTER_PROJECTION,
    NAMES,
    batch_items,
    daily,
    every_row,
    figures,
    top,
)
from dashboard.analytics.rollups import TOTAL_VALUE, Totals
from dashboard.core import clock
from dashboard.dynamo.base import client_of

DIMENSIONS = ("tenant", "model", "agent", "user", "environment", "tag")
MAX_HISTOGRAM_DAYS = 31  # a calendar month: a window of days with the histogram reads a day row a day
HOURLY = ("tenant", "model", "agent", "user", "environment", "tag")  # dimensions with hourly rows
MAX_HOURS = 25  # a rolling 24 h window: the hour 24 hours ago to this one
HOURLY_CANDIDATES = 10  # an hour window's top list looks at the costliest of its days (`window_top`)
HOURLY_CANDIDATES_MORE = 100


def window_totals(
    tenant_id: str,
    dimension: str,
    start: date,
    end: date,
    values: list[str] | None = None,
    k: int = 100,
    histogram: bool = False,
    at_least: int | None = None,
) -> dict[str, Totals]:
    """{value: totals} of `start`…`end` (inclusive: days, or hours when given datetimes). `tenant`
    answers under the key "all"; `values` None: every model, or the `k` costliest agents, users,
    environments or tags (of an hour window: those of the candidates, see the module docstring, with
    `at_least` the least cost a caller cares about).

    Calls, days: one query (tenant, model), one batch read (given values), or a `top` read.
    Calls, hours: one query (tenant, model), ⌈hours × values / 100⌉ batch reads (given values), or a
    `top` read and ⌈hours × candidates / 100⌉ batch reads."""
    if isinstance(start, datetime):
        return _hour_totals(tenant_id, dimension, start, end, values, k, histogram, at_least)
    if dimension == "tenant":
        sums = Totals()
        for totals in daily(tenant_id, "total", start, end, histogram=histogram).values():
            sums.merge(totals)
        return {TOTAL_VALUE: sums}
    if dimension == "model":
        sums_by: dict[str, Totals] = {}
        for (_, value), totals in daily(tenant_id, "model", start, end, histogram=histogram).items():
            if values is None or value in values:
                sums_by.setdefault(value, Totals()).merge(totals)
        for value in values or []:
            sums_by.setdefault(value, Totals())
        return sums_by
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}")
    if values is not None and histogram:
        return _day_figures(tenant_id, dimension, start, end, values)
    if values is not None:
        return figures(tenant_id, dimension, start, end, values)
    return dict(top(tenant_id, dimension, start, end, k))


def window_every(
    tenant_id: str, dimension: str, start: date, end: date, histogram: bool = False
) -> dict[str, Totals]:
    """{value: totals} of every agent, user, environment or tag with executions in `start`…`end` (days,
    or hours when given datetimes), exact; calls: see the module docstring."""
    if dimension not in DIMENSIONS or dimension in ("tenant", "model"):
        raise ValueError(f"every value is read for agents, users, environments and tags, not {dimension!r}")
    if isinstance(start, datetime):
        found = _hour_query(tenant_id, dimension, _hours(start, end), histogram)
    else:
        # Weeks and months keep no histogram: with it, the day buckets; without, the fewest covering.
        buckets = (
            [rollups.day_bucket(day) for day in _days(start, end)]
            if histogram
            else rollups.buckets_covering(start, end, dimension)
        )
        found = {}
        for bucket in buckets:
            for value, totals in every_row(
                rollups.ranked_pk(tenant_id, dimension, bucket), histogram
            ).items():
                found.setdefault(value, Totals()).merge(totals)
    return {value: totals for value, totals in found.items() if totals.count}


def _days(start: date, end: date) -> list[date]:
    days = (end - start).days + 1
    if not 1 <= days <= MAX_HISTOGRAM_DAYS:
        raise ValueError(
            f"the latency of a window of days is read over 1 to {MAX_HISTOGRAM_DAYS} days, not {days}"
        )
    return [start + timedelta(days=offset) for offset in range(days)]


def _day_figures(
    tenant_id: str, dimension: str, start: date, end: date, values: list[str]
) -> dict[str, Totals]:
    """{value: totals with the latency histogram} of given values over days: their day-bucket rows
    by key (weeks and months keep no histogram), in BatchGetItem calls of 100 keys."""
    days = _days(start, end)
    if dimension not in rollups.HISTOGRAM_RANKED:
        raise ValueError(f"{dimension!r} rows keep no latency histogram")
    sums_by = {value: Totals() for value in values}
    table = ExecutionRollup.Meta.table_name
    wanted = [
        (
            table,
            {
                "pk": {"S": rollups.ranked_pk(tenant_id, dimension, rollups.day_bucket(day))},
                "sk": {"S": value},
            },
        )
        for value in sums_by
        for day in days
    ]
    for item in batch_items(wanted).get(table, []):
        sums_by[item["sk"]["S"]].add_raw(item)
    return sums_by


def window_top(tenant_id: str, dimension: str, start: date, end: date, k: int) -> list[tuple[str, Totals]]:
    """The `k` costliest agents, models or users of a window, costliest first (ties by name).

    Days: exact (`top`). Hours: models exact (one query); agents and users from the candidates of the
    days the window touches, costliest first: a value left out spent over the window at most what it
    spent over those days, at most the last candidate's, so the list is exact once its k-th costs at
    least that (or every value was a candidate). The `HOURLY_CANDIDATES` costliest first (a `top` read,
    one batch read), else once more with `HOURLY_CANDIDATES_MORE` (a `top` read, up to 25 batch reads):
    past that, the costliest among them."""
    if not isinstance(start, datetime):
        return top(tenant_id, dimension, start, end, k)
    if dimension == "model":
        return _ranked(_hour_totals(tenant_id, "model", start, end, None, k, False, None), k)
    hours = _hours(start, end)
    ranked: list[tuple[str, Totals]] = []
    for size in (max(k, HOURLY_CANDIDATES), max(k, HOURLY_CANDIDATES_MORE)):
        candidates = top(tenant_id, dimension, start.date(), end.date(), size)
        ranked = _ranked(_hour_figures(tenant_id, dimension, hours, [value for value, _ in candidates]), k)
        every_value = len(candidates) < size
        bound = candidates[-1][1].cost_micro_usd if candidates else 0
        if every_value or (len(ranked) == k and ranked[-1][1].cost_micro_usd >= bound):
            break
    return ranked


def _ranked(found: dict[str, Totals], k: int) -> list[tuple[str, Totals]]:
    ranked = sorted(
        ((value, totals) for value, totals in found.items() if totals.count),
        key=lambda item: (-item[1].cost_micro_usd, item[0]),
    )
    return ranked[:k]


def _hours(start: datetime, end: datetime) -> list[str]:
    count = int((end - start) / timedelta(hours=1)) + 1
    if not 1 <= count <= MAX_HOURS:
        raise ValueError(f"an hour window holds 1 to {MAX_HOURS} hours, not {count}")
    return [rollups.hour_key(start + timedelta(hours=n)) for n in range(count)]


def _hour_totals(
    tenant_id: str,
    dimension: str,
    start: datetime,
    end: datetime,
    values: list[str] | None,
    k: int,
    histogram: bool,
    at_least: int | None,
) -> dict[str, Totals]:
    if dimension not in HOURLY:
        raise ValueError(f"{dimension!r} has no hourly rows: use a window of days")
    hours = _hours(start, end)
    if dimension in ("tenant", "model"):
        sums_by = _hour_query(tenant_id, "total" if dimension == "tenant" else "model", hours, histogram)
        if dimension == "tenant":
            return {TOTAL_VALUE: sums_by.get(TOTAL_VALUE, Totals())}
        if values is not None:
            return {value: sums_by.get(value, Totals()) for value in values}
        return sums_by
    if values is not None:
        return _hour_figures(tenant_id, dimension, hours, values, histogram)
    candidates = [
        value
        for value, totals in top(tenant_id, dimension, start.date(), end.date(), k)
        if at_least is None or totals.cost_micro_usd >= at_least
    ]
    found = _hour_figures(tenant_id, dimension, hours, candidates)
    return {value: totals for value, totals in found.items() if totals.count}


def _hour_query(tenant_id: str, dimension: str, hours: list[str], histogram: bool) -> dict[str, Totals]:
    """{value: totals} of the hourly rows of `hours` (shards folded): one query, paged past 1 MB only.
    Rows past their expiry are hidden (DynamoDB deletes them late)."""
    request = {
        "TableName": ExecutionRollup.Meta.table_name,
        "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
        "FilterExpression": "#e > :now",
        "ExpressionAttributeNames": {"#e": "expires_at", **({} if histogram else NAMES)},
        "ExpressionAttributeValues": {
            ":pk": {"S": rollups.hourly_pk(tenant_id, dimension)},
            ":lo": {"S": f"{hours[0]}#"},
            ":hi": {"S": f"{hours[-1]}#~"},
            ":now": {"N": str(int(clock.now().timestamp()))},
        },
    }
    if not histogram:
        request["ProjectionExpression"] = COUNTER_PROJECTION
    sums_by: dict[str, Totals] = {}
    client = client_of(ExecutionRollup)
    while True:
        answer = client.query(**request)
        for item in answer.get("Items", []):
            _, value = rollups.split_sk(item["sk"]["S"])
            sums_by.setdefault(value, Totals()).add_raw(item)
        if "LastEvaluatedKey" not in answer:
            return sums_by
        request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


def _hour_figures(
    tenant_id: str, dimension: str, hours: list[str], values: list[str], histogram: bool = False
) -> dict[str, Totals]:
    """{value: totals} of given values over `hours` (zero for a value without executions): their
    unsharded hourly rows by key, in BatchGetItem calls of 100 keys (every hourly row keeps the
    latency histogram: read when asked)."""
    sums_by = {value: Totals() for value in values}
    if not values:
        return sums_by
    table = ExecutionRollup.Meta.table_name
    row_pk = rollups.hourly_pk(tenant_id, dimension)
    wanted = [
        (table, {"pk": {"S": row_pk}, "sk": {"S": rollups.sk(hour, value)}})
        for value in sums_by
        for hour in hours
    ]
    options = (
        {}
        if histogram
        else {
            table: {
                "ProjectionExpression": f"{COUNTER_PROJECTION}, #e",
                "ExpressionAttributeNames": {**NAMES, "#e": "expires_at"},
            }
        }
    )
    now = int(clock.now().timestamp())
    for item in batch_items(wanted, options).get(table, []):
        if int(item.get("expires_at", {}).get("N", 0)) > now:
            sums_by[rollups.split_sk(item["sk"]["S"])[1]].add_raw(item)
    return sums_by
