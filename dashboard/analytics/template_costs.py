"""What a marketplace template costs per run, across every tenant that runs flows made from it (issue #28 §3).

Pure rules, no I/O: the rows an execution adds to, the cost histogram, and what a 30-day summary says.

Rows (in the `execution-rollups` table, beside the tenants' own; pk starts with `~`, which no tenant id
may hold, so no tenant's reads ever meet them):
- daily, one per template, day and shard: pk `~templates#<day>#<partition>`, sk `<template_id>#<shard>`, counters
  `count`, `failures`, `cost_micro_usd`, one cost histogram bucket (`c000` … `c107`) and `tenants`, a
  string set the execution's tenant's mark is ADDed to (`tenant_mark`: a keyed hash, never the id, so
  counting the tenants keeps no tenant's name beside another tenant's template). An execution whose flow came from a template adds 1
  row update (its tenant's 3 daily + ranked rows are unchanged); other executions add nothing. A
  day's rows are spread over PARTITIONS partition keys by a hash of the template id: every tenant's
  runs of every template land here, so one key a day would be one partition for the whole platform
  (about 1,000 writes a second on AWS); a template keeps one key a day (its shards spread its writes
  over items), and the summary pass reads a day in PARTITIONS queries whatever the number of templates.
- the 30-day summary of every template run in the last 30 days: pk `~template-summaries`, sk the
  template id, `figures` JSON (`Summary.as_json`), rebuilt by the background worker's pass
  (dashboard.analytics.template_summaries). A page reads a page of cards' summaries in one BatchGetItem.

Privacy: a summary carries figures only when at least MIN_TENANTS tenants ran the template in the
window; below that it carries nothing (not even the number of tenants), so no page can show them.
Summaries are built once a day from whole days (template_summaries), so their change from one day to
the next is a whole day of every tenant's runs, not the few minutes of one tenant's.

The cost histogram: bucket 0 holds runs costing at most FIRST_BOUND µUSD, then each bound is 2^(1/4)
(~19 %) above the one before, up to ~$1,000; the last bucket holds anything dearer. The median is read
as the bucket holding the lower median run (nearest rank: the ceil(n/2)-th cheapest) and reported as
the geometric middle of that bucket, so it is within ~10 % of the true lower median (bucket 0: at most
FIRST_BOUND µUSD off).

Runs, failures and tenants are exact. The cost sum is exact too: a trace's model calls and a
re-pricing add their cost to the template row as to the tenant's rows (rollups.keys_for). The
histogram places a run by its cost when it is recorded, so a run recorded from a trace (cost zero
until its calls arrive) or re-priced later sits in its first bucket: the median of such runs is of
their recorded cost.
"""

from __future__ import annotations

import json
import math
import zlib
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.utils.crypto import salted_hmac

from dashboard.core.money import money

MIN_TENANTS = 3
WINDOW_DAYS = 30
FIRST_BOUND = 10  # µUSD
GROWTH = 2**0.25
BOUND_COUNT = 107
BOUNDS: tuple[int, ...] = tuple(round(FIRST_BOUND * GROWTH**i) for i in range(BOUND_COUNT))
BUCKET_COUNT = BOUND_COUNT + 1
BUCKET_ATTRIBUTES: tuple[str, ...] = tuple(f"c{i:03d}" for i in range(BUCKET_COUNT))
BUCKET_INDEX = {name: index for index, name in enumerate(BUCKET_ATTRIBUTES)}
TENANTS = "tenants"  # the string-set attribute of a daily row
DAY_PREFIX = "~templates#"
SUMMARY_PK = "~template-summaries"
RETURNED = "~returned#"  # + template id: the day the summary pass last sent it back to the queue
PARTITIONS = 16


def tenant_mark(tenant_id: str) -> str:
    """What a template row's `tenants` set holds for a tenant: distinct per tenant (so the set counts
    them), and not the tenant's id. Rows of another tenant's template outlive an erased tenant's data,
    so they must not name it; the hash is keyed with the site's secret because tenant ids are short
    slugs anyone could hash and compare."""
    return salted_hmac("dashboard.analytics.template_costs.tenant", tenant_id).hexdigest()[:24]


def template_of_row(sk: str) -> str:
    """The template a row of the template figures is about: a day row's sk is `<template>#<shard>`, a
    summary's the template id, a return marker's `~returned#<template>`."""
    return sk.removeprefix(RETURNED).split("#", 1)[0]


def partition_of(template_id: str) -> int:
    return zlib.crc32(template_id.encode()) % PARTITIONS


def day_pk(day: str, template_id: str) -> str:
    """The partition key of a template's rows of one day."""
    return f"{DAY_PREFIX}{day}#{partition_of(template_id)}"


def day_pks(day: str) -> list[str]:
    """Every partition key of one day's template rows."""
    return [f"{DAY_PREFIX}{day}#{number}" for number in range(PARTITIONS)]


def day_sk(template_id: str, shard: int | None = None) -> str:
    return template_id if shard is None else f"{template_id}#{shard}"


def template_of_sk(row_sk: str) -> str:
    return row_sk.split("#")[0]


def is_template_row(row_pk: str) -> bool:
    return row_pk.startswith(DAY_PREFIX)


def bucket_index(cost_micro_usd: int) -> int:
    return bisect_left(BOUNDS, max(0, int(cost_micro_usd)))


def bucket_attribute(cost_micro_usd: int) -> str:
    return BUCKET_ATTRIBUTES[bucket_index(cost_micro_usd)]


def bucket_range(index: int) -> tuple[int, int]:
    """(low, high]: the costs bucket `index` holds (the last: from its low bound up)."""
    low = 0 if index == 0 else BOUNDS[index - 1]
    high = BOUNDS[index] if index < BOUND_COUNT else BOUNDS[-1]
    return low, high


def bucket_value(index: int) -> int:
    """The figure shown for a bucket: its geometric middle (bucket 0: its upper bound's half)."""
    low, high = bucket_range(index)
    return round(high / 2) if low == 0 else round(math.sqrt(low * high))


def median_bucket(counts: Sequence[int]) -> int | None:
    """The bucket of the lower median run (the ceil(n/2)-th cheapest), or None without runs."""
    total = sum(counts)
    if not total:
        return None
    rank, seen = (total + 1) // 2, 0
    for index, count in enumerate(counts):
        seen += count
        if seen >= rank:
            return index
    return None


def lower_median(costs: Iterable[int]) -> int | None:
    """The same median from raw costs (checks): the ceil(n/2)-th cheapest."""
    ordered = sorted(costs)
    return ordered[(len(ordered) + 1) // 2 - 1] if ordered else None


@dataclass
class Window:
    """Summed daily rows of one template over some days."""

    runs: int = 0
    failures: int = 0
    cost_micro_usd: int = 0
    buckets: list[int] = field(default_factory=lambda: [0] * BUCKET_COUNT)
    tenants: set[str] = field(default_factory=set)

    def add_raw(self, item: dict) -> None:
        """A daily row as DynamoDB sends it."""
        self.runs += int(item.get("count", {}).get("N", 0))
        self.failures += int(item.get("failures", {}).get("N", 0))
        self.cost_micro_usd += int(item.get("cost_micro_usd", {}).get("N", 0))
        for name, cell in item.items():
            index = BUCKET_INDEX.get(name)
            if index is not None:
                self.buckets[index] += int(cell["N"])
        self.tenants.update(item.get(TENANTS, {}).get("SS", []))

    def merge(self, other: Window) -> None:
        self.runs += other.runs
        self.failures += other.failures
        self.cost_micro_usd += other.cost_micro_usd
        self.buckets = [a + b for a, b in zip(self.buckets, other.buckets, strict=True)]
        self.tenants |= other.tenants

    @property
    def success_rate(self) -> float | None:
        return (self.runs - self.failures) / self.runs if self.runs else None

    @property
    def cost_per_run(self) -> float | None:
        return self.cost_micro_usd / self.runs if self.runs else None

    @property
    def median_cost_micro_usd(self) -> int | None:
        index = median_bucket(self.buckets)
        return None if index is None else bucket_value(index)


@dataclass(frozen=True)
class Summary:
    """What the cards show of a template's last WINDOW_DAYS days: figures only when `enough`."""

    enough: bool
    runs: int = 0
    success_rate: float = 0.0
    median_cost_micro_usd: int = 0
    tenants: int = 0
    start: str = ""
    end: str = ""

    @classmethod
    def of(cls, window: Window, start: str, end: str) -> Summary:
        if len(window.tenants) < MIN_TENANTS or not window.runs:
            return cls(enough=False, start=start, end=end)
        return cls(
            enough=True,
            runs=window.runs,
            success_rate=window.success_rate or 0.0,
            median_cost_micro_usd=window.median_cost_micro_usd or 0,
            tenants=len(window.tenants),
            start=start,
            end=end,
        )

    def as_json(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Summary:
        return cls(**json.loads(text))

    @property
    def success_percent(self) -> float:
        return round(self.success_rate * 100, 1)


# --- a template that worsens sharply over a week returns to the moderation queue -----------------
#
# This week (the last 7 days, today included) against the 7 days before. Both weeks must have
# enough to judge: at least MIN_TENANTS tenants (the figures named in the reason are then as safe to
# show as the cards') and DRIFT_MIN_RUNS runs, so one tenant's bad afternoon does not move a template.
# Sharp: the success rate falls by DRIFT_SUCCESS_DROP (10 percentage points) or more, or the cost per
# run (mean: exact from the sums; the median moves by whole buckets) rises by DRIFT_COST_RISE (50 %).
# A template returned is not returned again within DRIFT_QUIET_DAYS (moderators may approve it back).

DRIFT_DAYS = 7
DRIFT_MIN_RUNS = 30
DRIFT_SUCCESS_DROP = 0.10
DRIFT_COST_RISE = 1.5
DRIFT_QUIET_DAYS = 7


def worsened(this_week: Window, last_week: Window) -> str | None:
    """Why the template worsened sharply this week (the reason its author and moderators read), or None."""
    for week in (this_week, last_week):
        if len(week.tenants) < MIN_TENANTS or week.runs < DRIFT_MIN_RUNS:
            return None
    found = []
    now_rate, then_rate = this_week.success_rate or 0.0, last_week.success_rate or 0.0
    if then_rate - now_rate >= DRIFT_SUCCESS_DROP:
        found.append(f"its success rate fell from {then_rate * 100:.1f}% to {now_rate * 100:.1f}%")
    now_cost, then_cost = this_week.cost_per_run or 0.0, last_week.cost_per_run or 0.0
    if then_cost > 0 and now_cost >= then_cost * DRIFT_COST_RISE:
        found.append(
            f"its cost per run rose from {money_text(then_cost)} to {money_text(now_cost)} "
            f"({(now_cost / then_cost - 1) * 100:.0f}% more)"
        )
    if not found:
        return None
    return (
        f"Returned to review automatically: over the last {DRIFT_DAYS} days, across {len(this_week.tenants)} "
        f"tenants and {this_week.runs} runs, " + " and ".join(found) + " against the week before."
    )


def money_text(micro_usd: float) -> str:
    return money(round(micro_usd))
