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

Digests (dashboard.analytics.compaction): a range's settled days of one dimension packed in one
item, built by the importer and the background worker. `TopPages.parts` reads a period from the
digest of its days before today, while its tag still equals those days' executions and cost in the
daily `total` rows, and today's bucket beside it; the threshold algorithm then runs over two parts,
whatever the shape. A digest's rows are taken best first from memory; when it holds only the
`DIGEST_ROWS` costliest and a value it left out could still be in the list, its tails (the values left
out, hashed into a few items) are read in one batch call, and only if they are missing or stale are
the range's buckets read. Days with
no execution (the daily rows say so) are read from nowhere.

Settled first pages (`TopPages`), for ranges no digest holds (a custom period, a late arrival not
yet packed): a bucket's first page in the rank index changes only when an
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

import collections
import json
import threading
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from dashboard.analytics import rollups
from dashboard.analytics.models import (
    PAGE_TTL_DAYS,
    ExecutionRollup,
    RollupDigest,
    TopPage,
)
from dashboard.analytics.rollups import Totals
from dashboard.dynamo.base import client_of
from dashboard.dynamo.transactions import batch_put

COST = rollups.COUNTERS.index("cost_micro_usd")
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


def every_row(pk: str, histogram: bool = False) -> dict[str, Totals]:
    """{value: totals} of every ranked row of one bucket (one query, paged past 1 MB), with the latency
    histogram when asked (the day buckets that keep it, rollups.HISTOGRAM_RANKED)."""
    extra = (
        {} if histogram else {"ProjectionExpression": COUNTER_PROJECTION, "ExpressionAttributeNames": NAMES}
    )
    items = _query(KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": pk}}, **extra)
    rows: dict[str, Totals] = defaultdict(Totals)
    for item in items:
        rows[item["sk"]["S"]].add_raw(item)
    return rows


def daily(
    tenant_id: str,
    dimension: str,
    start: date,
    end: date,
    histogram: bool = False,
    consistent: bool = False,
) -> dict[tuple[str, str], Totals]:
    """{(day, value): totals} of `start`…`end` (inclusive) for a daily dimension (`consistent`: a
    strongly consistent read, for a digest's tags)."""
    extra = (
        {} if histogram else {"ProjectionExpression": COUNTER_PROJECTION, "ExpressionAttributeNames": NAMES}
    )
    if consistent:
        extra["ConsistentRead"] = True
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


def batch_items(
    wanted: list[tuple[str, dict]], options: dict[str, dict] | None = None
) -> dict[str, list[dict]]:
    """Items by (table, key) in BatchGetItem calls of 100 keys, unprocessed keys sent again;
    `options`: a table's ProjectionExpression and names. The items found, by table."""
    found: dict[str, list[dict]] = {}
    for start in range(0, len(wanted), BATCH_GET_LIMIT):
        request: dict = {}
        for table, key in wanted[start : start + BATCH_GET_LIMIT]:
            request.setdefault(table, {"Keys": [], **(options or {}).get(table, {})})["Keys"].append(key)
        while request:
            answer = _client().batch_get_item(RequestItems=request)
            for table, items in answer.get("Responses", {}).items():
                found.setdefault(table, []).extend(items)
            request = answer.get("UnprocessedKeys") or {}
    return found


def _batch_get(keys: list[tuple[str, str]]) -> dict[tuple[str, str], Totals]:
    """Exact totals of ranked rows by (pk, sk); an absent row is zero."""
    found: dict[tuple[str, str], Totals] = {key: Totals() for key in keys}
    table = _table()
    wanted = [(table, {"pk": {"S": p}, "sk": {"S": s}}) for p, s in dict.fromkeys(keys)]
    options = {table: {"ProjectionExpression": COUNTER_PROJECTION, "ExpressionAttributeNames": NAMES}}
    for item in batch_items(wanted, options).get(table, []):
        found[(item["pk"]["S"], item["sk"]["S"])].add_raw(item)
    return found


@dataclass
class _Bucket:
    """One bucket's rows in the rank index, read best first, page by page."""

    pk: str
    last_cost: int | None = None  # cost of the last row read (None: nothing read yet)
    cursor: dict | None = None
    exhausted: bool = False  # every row read: a value not read is not in the bucket
    first: list[tuple[str, Totals]] = field(default_factory=list)  # the first page, best first

    @property
    def readable(self) -> bool:
        return not self.exhausted

    @property
    def all_known(self) -> bool:
        return self.exhausted

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
            # Day buckets keep a latency histogram too (alert rules read it by key): a top list's
            # totals are counters only, like those of kept pages and digests, whichever it read.
            "ProjectionExpression": COUNTER_PROJECTION,
            "ExpressionAttributeNames": NAMES,
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


class Digest:
    """A range of settled days of one dimension, packed (dashboard.analytics.compaction): its rows
    best first, as packed (a row's totals are made when asked); a value left out cost at most
    `bound` (0 and `complete`: none was left out)."""

    def __init__(
        self, rows: list[list], complete: bool, bound: int, tag_count: int, tag_cost: int, tails: int = 0
    ) -> None:
        self.rows = rows  # [[value, count, failures, cost, tokens in, tokens out, duration], …]
        self.complete = complete
        self.bound = bound
        self.tag_count = tag_count
        self.tag_cost = tag_cost
        self.tails = tails  # items holding the values left out (compaction.tail_pk)
        self.shards: dict[int, dict[str, list]] = {}  # the tails read, by number: value → row
        self.unreadable: set[int] = set()  # tails missing or stale: their values come from the buckets
        self.tail: list[list] | None = None  # every tail's rows, best first, once all are read
        self._by_value: dict[str, list] | None = None

    @classmethod
    def load(cls, item: dict) -> Digest | None:
        """A digest as BatchGetItem sends it; None if it cannot be read (the buckets are read instead)."""
        try:
            rows = _unpack_rows(item)
            if rows is None:
                return None
            return cls(
                rows,
                bool(item.get("complete", {}).get("BOOL")),
                int(item["bound"]["N"]),
                int(item["tag_count"]["N"]),
                int(item["tag_cost"]["N"]),
                int(item.get("tails", {}).get("N", 0)),
            )
        except (ValueError, KeyError, TypeError):
            return None

    @property
    def tails_tried(self) -> bool:
        """Every tail was read, or tried: nothing more to learn from them."""
        return len(self.shards) + len(self.unreadable) >= self.tails

    def tail_of(self, value: str) -> int | None:
        """The tail that would hold `value`, if this digest left it out and has tails."""
        from dashboard.analytics.compaction import tail_of

        if self.complete or not self.tails or value in self._values():
            return None
        return tail_of(value, self.tails)

    def take_tail(self, number: int, item: dict | None) -> None:
        """One tail item as BatchGetItem sent it (None: not there); taken only with this digest's
        tags (a stale tail's values are read from the buckets instead)."""
        rows = None
        if item is not None:
            try:
                tags = (int(item["tag_count"]["N"]), int(item["tag_cost"]["N"]))
                rows = _unpack_rows(item) if tags == (self.tag_count, self.tag_cost) else None
            except (ValueError, KeyError, TypeError):
                rows = None
        if rows is None:
            self.unreadable.add(number)
            return
        self.shards[number] = {row[0]: row for row in rows}
        if len(self.shards) == self.tails:
            # Every value left out is known now: the digest is whole, its tail ordered best first.
            self.tail = sorted(
                (row for shard in self.shards.values() for row in shard.values()),
                key=lambda row: (-row[1 + COST], row[0]),
            )
            self.complete = True

    @staticmethod
    def totals(row: list) -> Totals:
        return Totals(*row[1:])

    def _values(self) -> dict[str, list]:
        if self._by_value is None:
            self._by_value = {row[0]: row for row in self.rows}
        return self._by_value

    def figure(self, value: str) -> Totals | None:
        """The exact totals of `value` in this range, if this digest tells (None: not known)."""
        from dashboard.analytics.compaction import tail_of

        row = self._values().get(value)
        if row is not None:
            return self.totals(row)
        if self.tails:
            shard = self.shards.get(tail_of(value, self.tails))
            if shard is not None:  # a tail holds every value left out that hashes to it
                found = shard.get(value)
                return self.totals(found) if found is not None else Totals()
        return Totals() if self.complete else None


def _unpack_rows(item: dict) -> list[list] | None:
    """A digest's or tail's rows as packed (compaction.pack); None if they cannot be read."""
    from dashboard.analytics.compaction import unpack  # the writer's format

    try:
        rows = unpack(item["rows"]["B"])
    except (ValueError, KeyError, TypeError, zlib.error):
        return None
    if not isinstance(rows, list) or any(
        not isinstance(row, list) or len(row) != 1 + len(rollups.COUNTERS) for row in rows
    ):
        return None
    return rows


@dataclass
class _DigestPart:
    """A digest as one part of a range's top list: its rows taken best first from memory, page by
    page like a bucket's, so a page makes totals only for the rows the list needs; then its tail's
    rows, once read (`load_tails`)."""

    pk: str
    digest: Digest
    buckets: list[str]  # the real buckets of its range: where a value it left out is read
    taken: int = 0

    def _row(self, position: int) -> list:
        head = self.digest.rows
        return head[position] if position < len(head) else self.digest.tail[position - len(head)]

    @property
    def length(self) -> int:
        return len(self.digest.rows) + len(self.digest.tail or ())

    @property
    def readable(self) -> bool:
        return self.taken < self.length

    @property
    def all_known(self) -> bool:
        return not self.readable and self.digest.complete

    @property
    def can_grow(self) -> bool:
        """Its tail can still be read (the values it left out)."""
        return bool(self.digest.tails) and not self.digest.tails_tried

    def bound(self) -> int:
        """The most a value not taken yet has here. The head's rows are best first, but the values
        kept for the partner range may cost less than values left out (`digest.bound`, the first of
        the tail's rows once read)."""
        head, tail = self.digest.rows, self.digest.tail
        most = head[self.taken][1 + COST] if self.taken < len(head) else 0
        if tail is not None:
            position = max(0, self.taken - len(head))
            if position < len(tail):
                most = max(most, tail[position][1 + COST])
        elif not self.digest.complete:
            most = max(most, self.digest.bound)
        return most

    def beyond(self) -> int:
        """The most a value that is not in its rows nor in a tail read has here."""
        return 0 if self.digest.complete else self.digest.bound

    def read(self, limit: int, known: dict[tuple[str, str], Totals]) -> None:
        end = min(self.length, self.taken + limit)
        for position in range(self.taken, end):
            row = self._row(position)
            known[(self.pk, row[0])] = Digest.totals(row)
        self.taken = end


def load_tails(parts: list[_DigestPart]) -> None:
    """Read every tail not read yet of these digests (a top list growing past their rows)."""
    _read_tails(
        {
            (part.pk, number): part.digest
            for part in parts
            for number in range(part.digest.tails)
            if number not in part.digest.shards and number not in part.digest.unreadable
        }
    )


def load_tails_of(asks: list[tuple[_DigestPart, str]]) -> None:
    """Read the tails that hold these values (a few small items, not every tail of the digest)."""
    wanted = {}
    for part, value in asks:
        number = part.digest.tail_of(value)
        if number is not None and number not in part.digest.shards and number not in part.digest.unreadable:
            wanted[(part.pk, number)] = part.digest
    _read_tails(wanted)


def _read_tails(wanted: dict[tuple[str, int], Digest]) -> None:
    """Tail items by (digest pk, number) in batch calls (100 keys a call, 16 MB an answer), each
    given to its digest (a missing one as None)."""
    from dashboard.analytics.compaction import tail_pk

    keys = {tail_pk(pk, number): (pk, number) for pk, number in wanted}
    table = RollupDigest.Meta.table_name
    answer = batch_items([(table, {"pk": {"S": key}}) for key in keys]).get(table, [])
    items = {item["pk"]["S"]: item for item in answer}
    for key, (pk, number) in keys.items():
        wanted[(pk, number)].take_tail(number, items.get(key))


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
    """What a page knows beyond the rows it queries: the digests of settled ranges and the kept
    first pages of buckets, and the daily counts that say which of them still hold.

    Built in two steps so the batch read runs beside the daily `total` query: `load(pks, digests)`,
    then `know_days(total rows, first, last)`. Kept pages are loaded only for ranges no digest
    holds (`parts` loads them when first needed); pages read live and settled are written back by
    `save()`.
    """

    def __init__(self, now: float | None = None, today: date | None = None) -> None:
        self.now = time.time() if now is None else now
        self.today = today or datetime.fromtimestamp(self.now, UTC).date()
        self.kept: dict[str, Snapshot] = {}
        self.asked: set[str] = set()
        self.digests: dict[str, Digest] = {}
        self.extra: dict[str, list[dict]] = {}  # raw items of `load(also=…)`
        self.day_count: dict[str, int] = {}
        self.day_cost: dict[str, int] = {}
        self.day_written: dict[str, int] = {}
        self.known_span: tuple[str, str] | None = None
        self.fresh: dict[str, Snapshot] = {}  # read live and settled: to be kept
        self.live: dict[str, Snapshot] = {}  # read live by this request (whole when `exhausted`)
        self.lock = threading.Lock()

    @property
    def known_days(self) -> bool:
        return self.known_span is not None

    def load(
        self, pks: list[str], digests: list[str] = (), also: dict[str, list[dict]] | None = None
    ) -> TopPages:
        """One batch read (100 keys a call) of kept first pages and of digests; `also` rides along:
        raw keys of other tables (table name → keys), whose items land in `extra` (the overview's
        price-change markers: one call fewer)."""
        wanted: list[tuple[str, dict]] = [
            (TopPage.Meta.table_name, {"pk": {"S": pk}}) for pk in pks if pk not in self.asked
        ]
        wanted += [
            (RollupDigest.Meta.table_name, {"pk": {"S": pk}}) for pk in digests if pk not in self.asked
        ]
        self.asked.update(key["pk"]["S"] for _, key in wanted)
        for table, keys in (also or {}).items():
            self.extra.setdefault(table, [])
            wanted += [(table, key) for key in keys]
        options = {
            TopPage.Meta.table_name: {
                "ProjectionExpression": "pk, #t",
                "ExpressionAttributeNames": {"#t": "top"},
            }
        }
        responses = batch_items(wanted, options)
        for item in responses.get(TopPage.Meta.table_name, []):
            page = Snapshot.load(item.get("top", {}).get("S", ""))
            if page is not None:
                self.kept[item["pk"]["S"]] = page
        for item in responses.get(RollupDigest.Meta.table_name, []):
            digest = Digest.load(item)
            if digest is not None:
                self.digests[item["pk"]["S"]] = digest
        for table in also or {}:
            self.extra[table] += responses.get(table, [])
        return self

    def know_days(self, rows: dict[tuple[str, str], Totals], first: date, last: date) -> None:
        """The daily `total` rows (shards folded) of `first`…`last`, every day the buckets and
        digests used may cover."""
        for (day, _), totals in rows.items():
            self.day_count[day] = self.day_count.get(day, 0) + totals.count
            self.day_cost[day] = self.day_cost.get(day, 0) + totals.cost_micro_usd
            self.day_written[day] = max(self.day_written.get(day, 0), totals.last_write)
        self.known_span = (first.isoformat(), last.isoformat())

    def _state(self, bucket: str) -> tuple[int, int, int]:
        """(executions, cost, last write) of a bucket's or a range's days."""
        first, last = rollups.bucket_days(bucket)
        count = cost = written = 0
        day = first
        while day <= last:
            key = day.isoformat()
            count += self.day_count.get(key, 0)
            cost += self.day_cost.get(key, 0)
            written = max(written, self.day_written.get(key, 0))
            day += timedelta(days=1)
        return count, cost, written

    def _covers(self, bucket: str) -> bool:
        first, last = rollups.bucket_days(bucket)
        span = self.known_span
        return span is not None and span[0] <= first.isoformat() and last.isoformat() <= span[1]

    def digest(self, pk: str) -> Digest | None:
        """The digest of a range if it still holds: its tag equals the range's executions and cost."""
        bucket = _bucket_of(pk)
        if not self._covers(bucket):
            return None
        count, cost, _ = self._state(bucket)
        if not count:  # nothing in these days: no digest is written for them
            return Digest([], True, 0, 0, 0)
        found = self.digests.get(pk)
        return found if found is not None and (found.tag_count, found.tag_cost) == (count, cost) else None

    def page(self, pk: str) -> Snapshot | None:
        """The bucket's kept first page if it still holds (its count unchanged)."""
        kept = self.kept.get(pk)
        if kept is None or not self.known_days:
            return None
        return kept if kept.tag == self._state(_bucket_of(pk))[0] else None

    def kept_page(self, pk: str) -> Snapshot | None:
        """A page that holds now: kept, or read live by this very request."""
        return self.live.get(pk) or self.page(pk)

    def offer(self, pk: str, rows: list[tuple[str, Totals]], exhausted: bool) -> None:
        """A first page just read live: kept if its bucket has settled."""
        if not self.known_days:
            return
        count, _, written = self._state(_bucket_of(pk))
        page = Snapshot(rows, exhausted, count)
        if written <= self.now - SETTLED_SECONDS:
            self.fresh[pk] = page

    def remember(self, pk: str, rows: list[tuple[str, Totals]], exhausted: bool) -> None:
        """What this request read of a bucket, for the figures it asks next."""
        with self.lock:
            self.live[pk] = Snapshot(rows, exhausted, 0)

    def digest_key(self, tenant_id: str, dimension: str, start: date, end: date) -> str | None:
        """The digest a range would use: of its days before today (None: it has none)."""
        last = min(end, self.today - timedelta(days=1))
        if start > last:
            return None
        return rollups.ranked_pk(tenant_id, dimension, rollups.range_bucket(start, last))

    def parts(self, tenant_id: str, dimension: str, start: date, end: date) -> list:
        """What `start`…`end` is read from: a digest that holds and the buckets of the days after it
        (today), or else the buckets covering the range (their kept pages loaded on first need)."""
        key = self.digest_key(tenant_id, dimension, start, end)
        digest = self.digest(key) if key else None
        if digest is not None:
            first, last = rollups.bucket_days(_bucket_of(key))
            rest = page_keys(tenant_id, dimension, last + timedelta(days=1), end) if last < end else []
            buckets = page_keys(tenant_id, dimension, first, last)
            return [_DigestPart(key, digest, buckets)] + [_Bucket(pk) for pk in self._busy(rest)]
        keys = self._busy(page_keys(tenant_id, dimension, start, end))
        self.load(keys)
        return [_Bucket(pk) for pk in keys]

    def _busy(self, pks: list[str]) -> list[str]:
        """The buckets that have executions: one whose days count none holds no ranked row."""
        return [pk for pk in pks if not (self._covers(_bucket_of(pk)) and not self._state(_bucket_of(pk))[0])]

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
    return [
        rollups.ranked_pk(tenant_id, dimension, b) for b in rollups.buckets_covering(start, end, dimension)
    ]


def digest_keys(tenant_id: str, ranges: list[tuple[str, date, date]], today: date) -> list[str]:
    """The digests (dimension, start, end) ranges would use, for `TopPages.load`."""
    pages = TopPages(today=today)
    keys = [pages.digest_key(tenant_id, dimension, start, end) for dimension, start, end in ranges]
    return [key for key in dict.fromkeys(keys) if key]


LIVE_PAGE = 1_000  # about 150 KB, 19 read units: a busy day's agents, or its first thousand users
# A live bucket missing more rows than this among the candidates reads its next page rather than
# getting each row (half a read unit each): a ranked row is about 150 bytes, so a grown page of 240
# rows costs what 8 rows got one by one do, and a page of LIVE_PAGE rows (17 read units) what 32 do.
RESOLVE_AT_MOST = 8
LIVE_RESOLVE_AT_MOST = 32


class _NeedsBuckets(Exception):
    """A digest left out values that could still be in the top list: read the buckets instead."""


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

    With `pages`, a range's settled days come from its digest when one holds, and a bucket whose kept
    first page still holds is not queried (module docstring).
    """
    if k <= 0:
        return []
    if pages is not None and pages.known_days:
        parts = pages.parts(tenant_id, dimension, start, end)
        if parts and isinstance(parts[0], _DigestPart):
            try:
                return _top(parts, k, first_page, pages)
            except _NeedsBuckets:
                parts = [_Bucket(pk) for pk in page_keys(tenant_id, dimension, start, end)]
                pages.load([part.pk for part in parts])
    else:
        parts = [_Bucket(pk) for pk in page_keys(tenant_id, dimension, start, end)]
    if not parts:
        return []
    return _top(parts, k, first_page, pages)


def _top(parts: list, k: int, first_page: int, pages: TopPages | None) -> list[tuple[str, Totals]]:
    """Fagin's threshold algorithm over the parts of a range (module docstring)."""
    known: dict[tuple[str, str], Totals] = {}
    # Ranked rows are small (about 150 bytes): a first page of FIRST_PAGE costs about one read unit
    # and usually settles the list in one round, where a page of k would need several.
    page = max(k, first_page)
    # Beside a digest the only bucket is today's: its first page is not kept (a page of LIVE_PAGE
    # rows, hundreds of write units, would be written again by every view until the day settles).
    beside_digest = any(isinstance(part, _DigestPart) for part in parts)
    keeping = pages is not None and page == FIRST_PAGE and not beside_digest
    # Beside a digest the live part is today's bucket alone: read it in one call, up to LIVE_PAGE rows,
    # rather than page after page while the digest's close leaders wait for its rows.
    live_page = LIVE_PAGE if beside_digest else page
    grow = (lambda size: LIVE_PAGE) if live_page == LIVE_PAGE else (lambda size: min(size * 4, 1_000))
    resolve_at_most = LIVE_RESOLVE_AT_MOST if live_page == LIVE_PAGE else RESOLVE_AT_MOST
    for part in parts:
        if isinstance(part, _DigestPart):
            part.read(page, known)
            continue
        kept = pages.page(part.pk) if keeping else None
        if kept is not None:
            part.seed(kept, known)
            continue
        part.read(live_page, known)
        if keeping:
            pages.offer(part.pk, part.first, part.exhausted)
    digests = [part for part in parts if isinstance(part, _DigestPart)]
    while True:
        values = {value for _, value in known}
        # A digest answers for any value in its rows at no cost (they are in memory): taken before
        # any value counts as a candidate to read, so a value it left out is bounded by what it left
        # out (`beyond`), not by the next of its rows not yet taken.
        for part in digests:
            for value in values:
                if (part.pk, value) not in known:
                    figure = part.digest.figure(value)
                    if figure is not None:
                        known[(part.pk, value)] = figure
        lower = {v: sum(known[(p.pk, v)].cost_micro_usd for p in parts if (p.pk, v) in known) for v in values}
        upper = {
            v: lower[v]
            + sum(
                p.beyond() if isinstance(p, _DigestPart) else p.bound()
                for p in parts
                if (p.pk, v) not in known and not p.all_known
            )
            for v in values
        }
        kth = sorted(lower.values(), reverse=True)[k - 1] if len(values) >= k else 0
        # Candidates that could still be in the top k get their missing parts read exactly.
        missing = [
            (p.pk, v)
            for v in values
            if upper[v] >= kth
            for p in parts
            if (p.pk, v) not in known and not p.all_known
        ]
        if missing:
            counts = collections.Counter(pk for pk, _ in missing)
            crowded = [
                p for p in parts if isinstance(p, _Bucket) and p.readable and counts[p.pk] > resolve_at_most
            ]
            if crowded:
                page = grow(page)
                for part in crowded:
                    part.read(page, known)
                continue
            known.update(_resolve(missing, pages, parts))
            continue
        threshold = sum(part.bound() for part in parts)
        if len(values) >= k and kth > threshold:
            break
        readable = [part for part in parts if part.readable]
        if not readable:
            if not threshold:
                break
            # A digest left out values that might tie or beat the k-th: read its tail, else the buckets.
            growing = [part for part in parts if isinstance(part, _DigestPart) and part.can_grow]
            if not growing:
                raise _NeedsBuckets
            load_tails(growing)
            if not any(part.readable for part in growing):
                raise _NeedsBuckets
            continue
        page = grow(page)
        for part in readable:
            part.read(page, known)
    if pages is not None:
        for part in parts:
            if isinstance(part, _Bucket):
                rows = [(v, t) for (pk, v), t in known.items() if pk == part.pk]
                pages.remember(part.pk, rows, part.exhausted)
    sums: dict[str, Totals] = {}
    for (_, value), totals in known.items():
        sums.setdefault(value, Totals()).merge(totals)
    ordered = sorted(sums.items(), key=lambda item: (-item[1].cost_micro_usd, item[0]))
    return [(value, totals) for value, totals in ordered[:k] if totals.count or totals.cost_micro_usd]


def _resolve(
    keys: list[tuple[str, str]], pages: TopPages | None, parts: list = ()
) -> dict[tuple[str, str], Totals]:
    """Exact totals of (part, value): from digests and kept or live pages where they tell, the rest
    in batch reads (a digest's value it left out: summed over its range's buckets)."""
    digests = {part.pk: part for part in parts if isinstance(part, _DigestPart)}
    # A value a digest left out is in the tail its hash names: those tails alone, in one call.
    load_tails_of(
        [
            (digests[row_pk], value)
            for row_pk, value in keys
            if row_pk in digests and digests[row_pk].digest.figure(value) is None
        ]
    )
    found: dict[tuple[str, str], Totals] = {}
    rest: list[tuple[str, str]] = []  # bucket rows asked for
    spread: list[tuple[tuple[str, str], list[tuple[str, str]]]] = []  # a value no digest told
    for row_pk, value in keys:
        part = digests.get(row_pk)
        if part is not None:
            figure = part.digest.figure(value)
            if figure is None:
                spread.append(((row_pk, value), [(pk, value) for pk in part.buckets]))
            else:
                found[(row_pk, value)] = figure
            continue
        kept = pages.kept_page(row_pk) if pages is not None else None
        figure = kept.figure(value) if kept is not None else None
        if figure is None:
            rest.append((row_pk, value))
        else:
            found[(row_pk, value)] = figure
    if rest or spread:
        read = _batch_get(rest + [piece for _, pieces in spread for piece in pieces])
        for key in rest:
            found[key] = read[key]
        for key, pieces in spread:
            totals = Totals()
            for piece in pieces:
                totals.merge(read[piece])
            found[key] = totals
    return found


def figures_of(
    tenant_id: str, asks: list[tuple[str, date, date, list[str]]], pages: TopPages | None = None
) -> list[dict[str, Totals]]:
    """Exact totals of given values over ranges, one answer per (dimension, start, end, values),
    read together (digests and kept pages first, then shared batch reads)."""
    wanted = []
    parts: list = []
    for dimension, start, end, values in asks:
        if pages is not None and pages.known_days:
            mine = pages.parts(tenant_id, dimension, start, end)
        else:
            mine = [_Bucket(pk) for pk in page_keys(tenant_id, dimension, start, end)]
        parts += mine
        wanted.append([(part.pk, value) for value in values for part in mine])
    found = _resolve(list(dict.fromkeys(key for keys in wanted for key in keys)), pages, parts)
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


def costliest_in(tenant_id: str, dimension: str, bucket: str, limit: int) -> list[str]:
    """The `limit` costliest values of one bucket (a filter's choices, not figures): one query of the
    rank index, whatever the number of values."""
    part = _Bucket(rollups.ranked_pk(tenant_id, dimension, bucket))
    part.read(limit, {})
    return [value for value, _ in part.first]


def by_day(tenant_id: str, dimension: str, value: str, start: date, end: date) -> dict[date, Totals]:
    """{day: totals} of one value of a ranked dimension (one person, agent, …) for each day of
    `start`…`end`, from its day-bucket rows: one BatchGet per BATCH_GET_LIMIT (100) days (a day without
    executions is zero). The days sum exactly to the range's totals."""
    days = [start + timedelta(days=offset) for offset in range((end - start).days + 1)]
    keys = {day: (rollups.ranked_pk(tenant_id, dimension, rollups.day_bucket(day)), value) for day in days}
    found = _batch_get(list(keys.values()))
    return {day: found[key] for day, key in keys.items()}
