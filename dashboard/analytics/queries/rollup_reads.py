"""The rollup reads: figures whose cost does not grow with the number of executions, days or
distinct values.

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

Settled first pages (`TopPages`): a bucket's first page in the rank index changes only when an
execution lands in the bucket, which adds one to the bucket's execution count (the daily `total`
rows the page reads anyway). So once read, a bucket's first page is kept in one item (`TopPage`, its
own table: the web tier only reads the counters but may write this), tagged with that count; a later page takes it while the
count is unchanged, and every bucket's kept page comes back in one batch read instead of a query per
bucket. A page is kept only from a bucket nobody wrote to for `SETTLED_SECONDS` (the index is updated
a moment after its table; the `total` rows carry `last_write`): a kept page is never behind its tag.
A late arrival changes the count, so its bucket is read live again and kept anew. The import writes
a chunk's `total` rows after all its other rows, so a half-imported chunk never makes a count that a
kept page already satisfies.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from dashboard.analytics import rollups
from dashboard.analytics.models import (
    PAGE_TTL_DAYS,
    ExecutionRollup,
    TopPage,
)
from dashboard.analytics.rollups import Totals
from dashboard.dynamo.base import client_of
from dashboard.dynamo.transactions import batch_put

BATCH_GET_LIMIT = 100
FIRST_PAGE = 60
COUNTER_PROJECTION = "pk, sk, #c, failures, cost_micro_usd, tokens_in, tokens_out, duration_ms_sum"
SETTLED_SECONDS = 60
NAMES = {"#c": "count"}  # `count` is a DynamoDB reserved word


def _client():
    return client_of(ExecutionRollup)


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
    first: list[tuple[str, Totals]] = field(default_factory=list)  # the first page, best first

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
        first = self.last_cost is None
        answer = _client().query(TableName=_table(), **kwargs)
        for item in answer.get("Items", []):
            totals = Totals()
            totals.add_raw(item)
            known[(self.pk, item["sk"]["S"])] = totals
            self.last_cost = totals.cost_micro_usd
            if first:
                self.first.append((item["sk"]["S"], totals))
        self.cursor = answer.get("LastEvaluatedKey")
        self.exhausted = self.cursor is None

    def seed(self, page: Snapshot, known: dict[tuple[str, str], Totals]) -> None:
        """Take a kept first page as if it had just been read (the next read continues after it)."""
        self.first = list(page.rows)
        for value, totals in page.rows:
            known[(self.pk, value)] = totals
        self.exhausted = page.exhausted
        if page.rows:
            value, totals = page.rows[-1]
            self.last_cost = totals.cost_micro_usd
            # The index's own key of the last row: where the next page starts.
            self.cursor = {
                "pk": {"S": self.pk},
                "sk": {"S": value},
                "rank_cost": {"N": str(totals.cost_micro_usd)},
            }
        else:
            self.last_cost = 0


@dataclass
class Snapshot:
    """A bucket's first page in the rank index, kept while its execution count is `tag`."""

    rows: list[tuple[str, Totals]]
    exhausted: bool
    tag: int

    def dump(self) -> str:
        return json.dumps(
            {
                "tag": self.tag,
                "exhausted": self.exhausted,
                "rows": [[value, *(getattr(t, name) for name in rollups.COUNTERS)] for value, t in self.rows],
            },
            separators=(",", ":"),
        )

    @classmethod
    def load(cls, text: str) -> Snapshot | None:
        try:
            data = json.loads(text)
            rows = [
                (row[0], Totals(**dict(zip(rollups.COUNTERS, row[1:], strict=True)))) for row in data["rows"]
            ]
            return cls(rows, bool(data["exhausted"]), int(data["tag"]))
        except (ValueError, KeyError, TypeError, IndexError):
            return None  # unreadable: read the bucket live and keep it again

    def figure(self, value: str) -> Totals | None:
        """The exact totals of `value` in this bucket, if this page tells (None: not known)."""
        for name, totals in self.rows:
            if name == value:
                return totals
        return Totals() if self.exhausted else None


class TopPages:
    """The kept first pages of the buckets a page reads, and the counts that say which still hold.

    Built in two steps so the batch read runs beside the daily `total` query: `load(pks)`, then
    `know_days(total rows)`. Pages read live and settled are written back by `save()`.
    """

    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now
        self.kept: dict[str, Snapshot] = {}
        self.day_count: dict[str, int] = {}
        self.day_written: dict[str, int] = {}
        self.known_days = False
        self.fresh: dict[str, Snapshot] = {}  # read live and settled: to be kept
        self.live: dict[str, Snapshot] = {}

    def load(self, pks: list[str]) -> TopPages:
        for start in range(0, len(pks), BATCH_GET_LIMIT):
            request = {
                TopPage.Meta.table_name: {
                    "Keys": [{"pk": {"S": pk}} for pk in pks[start : start + BATCH_GET_LIMIT]],
                    "ProjectionExpression": "pk, #t",
                    "ExpressionAttributeNames": {"#t": "top"},
                }
            }
            while request:
                answer = _client().batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(TopPage.Meta.table_name, []):
                    page = Snapshot.load(item.get("top", {}).get("S", ""))
                    if page is not None:
                        self.kept[item["pk"]["S"]] = page
                request = answer.get("UnprocessedKeys") or {}
        return self

    def know_days(self, rows: dict[tuple[str, str], Totals]) -> None:
        """The daily `total` rows (shards folded) of every day the buckets cover."""
        for (day, _), totals in rows.items():
            self.day_count[day] = self.day_count.get(day, 0) + totals.count
            self.day_written[day] = max(self.day_written.get(day, 0), totals.last_write)
        self.known_days = True

    def _state(self, bucket: str) -> tuple[int, int]:
        first, last = rollups.bucket_days(bucket)
        count = written = 0
        day = first
        while day <= last:
            key = day.isoformat()
            count += self.day_count.get(key, 0)
            written = max(written, self.day_written.get(key, 0))
            day += timedelta(days=1)
        return count, written

    def page(self, pk: str) -> Snapshot | None:
        """The bucket's kept first page if it still holds (its count unchanged)."""
        kept = self.kept.get(pk)
        if kept is None or not self.known_days:
            return None
        return kept if kept.tag == self._state(_bucket_of(pk))[0] else None

    def kept_page(self, pk: str) -> Snapshot | None:
        """A first page that holds now: kept, or read live by this very request."""
        return self.page(pk) or self.live.get(pk)

    def offer(self, pk: str, rows: list[tuple[str, Totals]], exhausted: bool) -> None:
        """A first page just read live: kept if its bucket has settled."""
        if not self.known_days:
            return
        count, written = self._state(_bucket_of(pk))
        self.live[pk] = page = Snapshot(rows, exhausted, count)
        if written <= self.now - SETTLED_SECONDS:
            self.fresh[pk] = page

    def save(self) -> None:
        """Write the pages read live from settled buckets (batch writes, 25 at a time)."""
        expires = datetime.fromtimestamp(self.now, UTC) + timedelta(days=PAGE_TTL_DAYS)
        batch_put(
            TopPage, [TopPage(pk, top=page.dump(), expires_at=expires) for pk, page in self.fresh.items()]
        )
        self.fresh = {}


def _bucket_of(row_pk: str) -> str:
    return row_pk.rsplit("#", 1)[1]


def page_keys(tenant_id: str, dimension: str, start: date, end: date) -> list[str]:
    return [rollups.ranked_pk(tenant_id, dimension, b) for b in rollups.buckets_covering(start, end)]


def top(
    tenant_id: str,
    dimension: str,
    start: date,
    end: date,
    k: int,
    first_page: int = FIRST_PAGE,
    pages: TopPages | None = None,
) -> list[tuple[str, Totals]]:
    """The exact `k` costliest values of `start`…`end`, ties by name, with their full totals.

    With `pages`, a bucket whose kept first page still holds is not queried (module docstring).
    """
    buckets = [
        _Bucket(rollups.ranked_pk(tenant_id, dimension, b)) for b in rollups.buckets_covering(start, end)
    ]
    if not buckets or k <= 0:
        return []
    known: dict[tuple[str, str], Totals] = {}
    # Ranked rows are small (about 150 bytes): a first page of FIRST_PAGE costs about one read unit
    # and usually settles the list in one round, where a page of k would need several.
    page = max(k, first_page)
    keeping = pages is not None and page == FIRST_PAGE
    for bucket in buckets:
        kept = pages.page(bucket.pk) if keeping else None
        if kept is not None:
            bucket.seed(kept, known)
            continue
        bucket.read(page, known)
        if keeping:
            pages.offer(bucket.pk, bucket.first, bucket.exhausted)
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
            known.update(_resolve(missing, pages))
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


def _resolve(keys: list[tuple[str, str]], pages: TopPages | None) -> dict[tuple[str, str], Totals]:
    """Exact totals of ranked rows: from kept pages where they tell, the rest in batch reads."""
    found: dict[tuple[str, str], Totals] = {}
    rest = []
    for row_pk, value in keys:
        kept = pages.kept_page(row_pk) if pages is not None else None
        figure = kept.figure(value) if kept is not None else None
        if figure is None:
            rest.append((row_pk, value))
        else:
            found[(row_pk, value)] = figure
    if rest:
        found.update(_batch_get(rest))
    return found


def figures_of(
    tenant_id: str, asks: list[tuple[str, date, date, list[str]]], pages: TopPages | None = None
) -> list[dict[str, Totals]]:
    """Exact totals of given values over ranges, one answer per (dimension, start, end, values),
    read together (kept pages first, then shared batch reads)."""
    wanted = []
    for dimension, start, end, values in asks:
        buckets = page_keys(tenant_id, dimension, start, end)
        wanted.append([(b, value) for value in values for b in buckets])
    found = _resolve([key for keys in wanted for key in keys], pages)
    answers = []
    for (_, _, _, values), keys in zip(asks, wanted, strict=True):
        sums = {value: Totals() for value in values}
        for key in keys:
            sums[key[1]].merge(found[key])
        answers.append(sums)
    return answers


def figures(tenant_id: str, dimension: str, start: date, end: date, values: list[str]) -> dict[str, Totals]:
    """Exact totals of `values` over `start`…`end` (zero for a value without executions)."""
    return figures_of(tenant_id, [(dimension, start, end, values)])[0]
