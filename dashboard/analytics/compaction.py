"""Compaction: each tenant's settled figures packed per range, so a page's cost does not depend on
how the executions are spread over agents and users.

The top lists read ranked rows bucket by bucket (dashboard.analytics.queries.rollup_reads) and stop
early only when the leaders stand out: a tenant whose 300 agents are equally busy made the 30-day
overview read nearly every ranked row of every bucket. A digest holds one range of settled days of
one dimension (agent, user, model) in one item (`RollupDigest`): every value's totals when they fit,
else the `DIGEST_ROWS` costliest, the values its partner range needs (the previous period's digest
carries this period's leaders, and the other way round: the change figures and the drivers), and
`bound`, the most any value left out cost; the values left out go to the digest's tails (a few items,
by a hash of the value), read only when a page needs one of them. A page then reads one digest per
range and dimension and today's live bucket beside it, whatever the shape.

Which ranges: those the overview's presets ask for today (`ranges_of`): for 7, 30 and 90 days and
this month, the settled part (start … yesterday) and the previous period; last month and the month
before it. A custom period reads the buckets as before.

Environment sub-scopes (`tenant@environment`, rollups.scope_id) are packed with their tenant:
`rebuild` builds the tenant, then each environment its ranked environment rows name in these ranges
(the values the tenant's own environment digests just read), with their agent, model and user
digests only. A tenant's chosen metadata keys (`meta.<key>`, rollups) are packed with it. A sub-scope's digests are tagged from its own daily `total` rows, so they hold or are
refused exactly as a tenant's are.

When: the importer builds its tenants' digests when a file is in (`import_stream`), the background
worker (`run_pass`, every pass of `run_alerts`) once a day per tenant and again after a write landed
on a settled day (`mark_dirty`: a late arrival through the API or OTLP, a re-pricing run). Until
then the digests' tags no longer match the daily `total` rows and the pages read the buckets: a
digest is never taken for figures it does not hold.

Exact: the tags (the range's executions and cost) are read from the daily `total` rows before the
ranked rows (consistent reads of the table, not of its index): a writer adds a day's `total` rows
after its ranked rows (dashboard.analytics.services, `_parts`), so a digest holds at least what its
tag counts, and a digest that holds more has a tag the rows have outgrown, which readers refuse.
Cost of a build: a query per bucket covering the 180 days the ranges span (about 20 per dimension),
each reading that bucket's ranked rows once; memory: one integer column per counter and range.
"""

from __future__ import annotations

import json
import time
import zlib
from array import array
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from dashboard.accounts.queries import list_tenants, metadata_dimensions_of
from dashboard.analytics import rollups
from dashboard.analytics.inputs import MONTH_PRESETS, PRESETS, Period
from dashboard.analytics.models import DIGEST_TTL_DAYS, ExecutionRollup, RollupDigest
from dashboard.core import clock
from dashboard.dynamo.base import client_of
from dashboard.dynamo.transactions import batch_put

DIGEST_DIMENSIONS = rollups.RANKED_DIMENSIONS  # agent, model, user, environment, tag, session, template
# Rows kept of a range beyond which a digest keeps the costliest: about 50 bytes a row in JSON, about
# 18 packed, so a digest of 5,000 rows is about 90 KB, 11 read units. A flat shape needs many: with
# 5,000 equally busy users the 1,000th costs nearly what the 10th does, and every user of today would
# then have to be read from the buckets.
DIGEST_ROWS = 5_000
MAX_PACKED = 350_000  # bytes: under DynamoDB's 400 KB an item, with the attributes beside the rows
READERS = 4  # bucket queries at once while building
# The values a digest leaves out go to its tails: small items hashed by value. A page that needs a
# few of those values (the settled figures of today's users, the previous period of a top list)
# reads only the tails they hash to, each about 5 read units; the growth of a top list past the
# digest's rows, rarer, reads them all. 256 tails of 40 KB hold about 500,000 values; beyond that
# they grow up to a whole item each, and a range with more still leaves them to its buckets.
TAIL_BYTES = 40_000
MAX_TAILS = 256

Range = tuple[date, date]


def digest_pk(tenant_id: str, dimension: str, start: date, end: date) -> str:
    return rollups.ranked_pk(tenant_id, dimension, rollups.range_bucket(start, end))


def state_pk(tenant_id: str) -> str:
    return f"{tenant_id}#state"


def preset_periods(today: date) -> list[Period]:
    return [Period.last(days, today) for days in PRESETS] + [
        Period.month(which, today) for which in MONTH_PRESETS
    ]


def settled_part(start: date, end: date, today: date) -> Range | None:
    """The days of start…end before today (a digest holds no live day), None if there are none."""
    last = min(end, today - timedelta(days=1))
    return (start, last) if start <= last else None


def ranges_of(today: date) -> list[tuple[Range | None, Range]]:
    """(settled part of the period, its previous period) for each preset period as of `today`."""
    return [
        (settled_part(p.start, p.end, today), (p.previous.start, p.previous.end))
        for p in preset_periods(today)
    ]


@dataclass
class BuildStats:
    digests: int = 0
    buckets: int = 0  # bucket queries
    environments: list[str] = field(default_factory=list)  # seen in the ranges: their sub-scopes
    rows: int = 0  # ranked rows read
    seconds: float = 0.0


class _Columns:
    """Every value's counters in one range: one integer column per counter, values by index."""

    def __init__(self) -> None:
        self.columns = [array("q") for _ in rollups.COUNTERS]

    def add(self, index: int, counters: list[int]) -> None:
        for column, value in zip(self.columns, counters, strict=True):
            if len(column) <= index:
                column.extend([0] * (index + 1 - len(column)))
            column[index] += value

    def row(self, index: int) -> list[int]:
        return [column[index] if index < len(column) else 0 for column in self.columns]

    def present(self) -> list[int]:
        counts = self.columns[0]
        return [index for index in range(len(counts)) if counts[index]]


COST = rollups.COUNTERS.index("cost_micro_usd")


def _bucket_rows(pk: str) -> Iterator[tuple[str, list[int]]]:
    """Every ranked row of one bucket, from the table (consistent), as (value, counters)."""
    client = client_of(ExecutionRollup)
    kwargs = {
        "TableName": ExecutionRollup.Meta.table_name,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": pk}},
        "ProjectionExpression": "sk, #c, failures, cost_micro_usd, tokens_in, tokens_out, duration_ms_sum",
        "ExpressionAttributeNames": {"#c": "count"},
        "ConsistentRead": True,
    }
    while True:
        answer = client.query(**kwargs)
        for item in answer.get("Items", []):
            yield item["sk"]["S"], [int(item[name]["N"]) if name in item else 0 for name in rollups.COUNTERS]
        if "LastEvaluatedKey" not in answer:
            return
        kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


def tail_pk(digest: str, number: int) -> str:
    return f"{digest}#tail{number}"


def tail_of(value: str, tails: int) -> int:
    """Which of a digest's `tails` items holds a value it left out (a stable hash of the value)."""
    return zlib.crc32(value.encode()) % tails


def _tails(rows: list[list]) -> list[bytes]:
    """The rows a digest left out, packed by the hash of their value into the fewest items of at
    most TAIL_BYTES (a power of two of them, up to MAX_TAILS, then up to MAX_PACKED each; none if
    even that does not fit: readers then sum the range's buckets)."""
    if not rows:
        return []
    # A first guess from the whole packed size (hashing spreads rows a little unevenly), then
    # doubled until every shard fits.
    whole, count = len(pack(rows)), 1
    while count < MAX_TAILS and count * TAIL_BYTES < whole * 1.25:
        count *= 2
    while True:
        shards: list[list[list]] = [[] for _ in range(count)]
        for row in rows:
            shards[tail_of(row[0], count)].append(row)
        packed = [pack(shard) for shard in shards]
        largest = max(len(item) for item in packed)
        if largest <= TAIL_BYTES or (count == MAX_TAILS and largest <= MAX_PACKED):
            return packed
        if count == MAX_TAILS:
            return []
        count *= 2


def pack(rows: list[list]) -> bytes:
    return zlib.compress(json.dumps(rows, separators=(",", ":")).encode(), 6)


def unpack(data: bytes) -> list[list]:
    return json.loads(zlib.decompress(data))


def _tags(tenant_id: str, ranges: list[Range]) -> dict[Range, tuple[int, int]]:
    """(executions, cost) of each range from the daily `total` rows, read before any ranked row."""
    from dashboard.analytics.queries import daily  # the read side, consistent for a build

    if not ranges:
        return {}
    rows = daily(tenant_id, "total", min(r[0] for r in ranges), max(r[1] for r in ranges), consistent=True)
    by_day: dict[str, tuple[int, int]] = {}
    for (day, _), totals in rows.items():
        count, cost = by_day.get(day, (0, 0))
        by_day[day] = (count + totals.count, cost + totals.cost_micro_usd)
    tags = {}
    for start, end in ranges:
        inside = [value for day, value in by_day.items() if start.isoformat() <= day <= end.isoformat()]
        tags[(start, end)] = (sum(c for c, _ in inside), sum(c for _, c in inside))
    return tags


def build(
    tenant_id: str, today: date | None = None, dimensions: tuple[str, ...] = DIGEST_DIMENSIONS
) -> BuildStats:
    """Build and write every digest of `tenant_id` (or of a sub-scope, with its `dimensions`) for
    `today`'s preset ranges (module docstring)."""
    started = time.monotonic()
    today = today or clock.now().date()
    stats = BuildStats()
    pairs = ranges_of(today)
    ranges = list(dict.fromkeys(r for pair in pairs for r in pair if r is not None))
    tags = _tags(tenant_id, ranges)
    partners: dict[Range, set[Range]] = {r: set() for r in ranges}
    for current, previous in pairs:
        if current is not None:
            partners[current].add(previous)
            partners[previous].add(current)
    expires = datetime.now(UTC) + timedelta(days=DIGEST_TTL_DAYS)
    items = []
    for dimension in dimensions:
        values: list[str] = []
        index: dict[str, int] = {}
        sums = {r: _Columns() for r in ranges}
        # Only ranges with executions read buckets; each bucket is read once for every range it is in.
        wanted: dict[str, list[Range]] = {}
        for r in ranges:
            if tags[r][0]:
                for bucket in rollups.buckets_covering(*r, dimension):
                    wanted.setdefault(rollups.ranked_pk(tenant_id, dimension, bucket), []).append(r)
        with ThreadPoolExecutor(max_workers=READERS) as pool:
            for pk, rows in zip(wanted, pool.map(lambda pk: list(_bucket_rows(pk)), wanted), strict=True):
                stats.buckets += 1
                stats.rows += len(rows)
                for value, counters in rows:
                    position = index.get(value)
                    if position is None:
                        position = index[value] = len(values)
                        values.append(value)
                    for r in wanted[pk]:
                        sums[r].add(position, counters)
        if dimension == "environment":
            stats.environments = list(values)
        ordered = {
            r: sorted(sums[r].present(), key=lambda i, c=sums[r].columns[COST]: (-c[i], values[i]))
            for r in ranges
        }
        for r in ranges:
            if not tags[r][0]:
                continue  # no executions: readers know it from the daily rows, no digest needed
            kept_rows = DIGEST_ROWS
            while True:  # fewer rows until the packed digest fits in one item
                keep = dict.fromkeys(ordered[r][:kept_rows])
                for partner in partners[r]:
                    keep.update(dict.fromkeys(ordered[partner][:kept_rows]))
                rows = [[values[i], *sums[r].row(i)] for i in keep]
                rows.sort(key=lambda row: (-row[1 + COST], row[0]))
                packed = pack(rows)
                if len(packed) <= MAX_PACKED or kept_rows <= 10:
                    break
                kept_rows //= 2
            left_out = [i for i in ordered[r] if i not in keep]
            bound = sums[r].columns[COST][left_out[0]] if left_out else 0
            pk = digest_pk(tenant_id, dimension, *r)
            tails = _tails([[values[i], *sums[r].row(i)] for i in left_out])
            items.append(
                RollupDigest(
                    pk,
                    rows=packed,
                    tag_count=tags[r][0],
                    tag_cost=tags[r][1],
                    complete=not left_out,
                    bound=bound,
                    tails=len(tails) or None,
                    expires_at=expires,
                )
            )
            items += [
                RollupDigest(
                    tail_pk(pk, n), rows=tail, tag_count=tags[r][0], tag_cost=tags[r][1], expires_at=expires
                )
                for n, tail in enumerate(tails)
            ]
    batch_put(RollupDigest, items)
    stats.digests = len(items)
    stats.seconds = time.monotonic() - started
    return stats


def mark_dirty(tenant_id: str) -> None:
    """A write landed on a settled day of `tenant_id`: its digests are rebuilt at the next pass."""
    RollupDigest(state_pk(tenant_id)).update(actions=[RollupDigest.dirty.set(clock.epoch_ms())])


def rebuild(tenant_id: str, today: date | None = None) -> BuildStats:
    """Build the tenant's digests and record it, stamped before the build began: a write that lands
    on a settled day meanwhile leaves `dirty` after that stamp, so the next pass builds again."""
    stamp = clock.epoch_ms()
    today = today or clock.now().date()
    chosen = tuple(rollups.metadata_dimension(key) for key in metadata_dimensions_of(tenant_id))
    stats = build(tenant_id, today, DIGEST_DIMENSIONS + chosen)
    for environment in stats.environments:
        scoped = build(rollups.scope_id(tenant_id, environment), today, rollups.SCOPED_DIMENSIONS)
        stats.digests += scoped.digests
        stats.buckets += scoped.buckets
        stats.rows += scoped.rows
        stats.seconds += scoped.seconds
    RollupDigest(state_pk(tenant_id)).update(
        actions=[RollupDigest.day.set(today.isoformat()), RollupDigest.built.set(stamp)]
    )
    return stats


def due(tenant_ids: list[str], today: date) -> list[str]:
    """The tenants whose digests are not built for `today`, or older than a write to a settled day."""
    states: dict[str, RollupDigest] = {}
    keys = [state_pk(tenant_id) for tenant_id in tenant_ids]
    for state in RollupDigest.batch_get(keys, attributes_to_get=["pk", "day", "built", "dirty"]):
        states[state.pk] = state
    waiting = []
    for tenant_id in tenant_ids:
        state = states.get(state_pk(tenant_id))
        if state is None or state.day != today.isoformat() or (state.dirty or 0) > (state.built or 0):
            waiting.append(tenant_id)
    return waiting


def run_pass(now: datetime | None = None) -> list[str]:
    """One pass of the background worker: rebuild the digests of the tenants that are due."""
    today = (now or clock.now()).date()
    tenants = due([tenant.tenant_id for tenant in list_tenants()], today)
    for tenant_id in tenants:
        rebuild(tenant_id, today)
    return tenants
