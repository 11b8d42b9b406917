"""The analytics reads: rollups whose cost does not grow with the number of executions, days or
distinct values; the execution history; the month against its budget.

Rollups.

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

Execution history. Execution history: newest first, filtered, one bounded page at a time; and one execution's detail.

The query picks the narrowest key for the filters (agent → the table's own key; status → the
tenant#status index; user → the user index; otherwise the tenant index). Filters the key cannot
express, and the TTL (DynamoDB deletes expired items late, so reads hide them), are applied by
DynamoDB as filter expressions. A page reads at most MAX_CALLS DynamoDB pages: when the filters
match rarely it may show fewer rows, with a link to go on from where it stopped. The previous page
is the same query read the other way (ascending) from the first row shown, so the way back costs
what the way forward does and needs no list of earlier cursors.

Totals of the whole filtered set, the same on every page: from the rollups where a rollup holds the
filters, one query (no filter, or a status or "any failure" alone: the daily `total` / `status` rows of
the range) or one BatchGet (one agent, user or model: its ranked rows of the whole months, weeks and
days covering the range). Filters that combine several of those have no rollup row: their totals are
counted from the matching executions in at most TOTALS_CALLS queries, and not shown when more match.
"""

from __future__ import annotations

import calendar
import contextvars
import json
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial

from dashboard.accounts.scope import AccessScope
from dashboard.analytics import pricing, rollups
from dashboard.analytics.inputs import ExecutionFilters, check_agent_id, is_valid_id, resolve_tenant
from dashboard.analytics.models import (
    EXECUTION_TTL_DAYS,
    PAGE_TTL_DAYS,
    Execution,
    ExecutionRollup,
    ModelPrice,
    PriceChange,
    TopPage,
    scoped_key,
)
from dashboard.analytics.rollups import Totals
from dashboard.core import clock
from dashboard.core.clock import day_end, day_start
from dashboard.core.errors import NotFound
from dashboard.dynamo.base import client_of
from dashboard.dynamo.paging import Page, decode_cursor, encode_cursor, raw_pages, read_bounded
from dashboard.dynamo.transactions import batch_put

BATCH_GET_LIMIT = 100
FIRST_PAGE = 60
COUNTER_PROJECTION = "pk, sk, #c, failures, cost_micro_usd, tokens_in, tokens_out, duration_ms_sum"
SETTLED_SECONDS = 60
NAMES = {"#c": "count"}  # `count` is a DynamoDB reserved word


_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="analytics-read")


def side_by_side(jobs: dict[str, Callable]) -> dict:
    """Run independent reads at once; each in a copy of the caller's context, so the request's
    DynamoDB call counting (dashboard.dynamo.metrics) and request cache see them."""
    futures = {name: _pool.submit(contextvars.copy_context().run, job) for name, job in jobs.items()}
    return {name: future.result() for name, future in futures.items()}


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


# --- execution history ----------------------------------------------------------------------

PAGE_SIZE = 25
MAX_CALLS = 4
FILTERED_READ = 100  # items DynamoDB evaluates per call when a filter may drop many
SORTS = {"started": "Newest first", "cost": "Costliest first", "duration": "Longest first"}
SORT_WINDOW = 100  # sorting by cost or duration orders windows of this many, newest window first
EXPORT_ROWS = 5_000
EXPORT_CALLS = 10


def _range(attribute, filters: ExecutionFilters):
    low = day_start(filters.start) if filters.start else None
    high = day_end(filters.end) if filters.end else None
    if low and high:
        return attribute.between(low, high)
    if low:
        return attribute >= low
    if high:
        return attribute <= high
    return None


def _history_query(tenant_id: str, filters: ExecutionFilters):
    """(bound query, whether it has filters beyond the TTL) for the narrowest key."""
    now = clock.now()
    extra = []
    statuses = filters.statuses
    # One status has its own index; several ("any failure") are a filter on the next narrowest key
    # (three status partitions cannot be read as one list newest first with one cursor).
    one_status = statuses[0] if len(statuses) == 1 else None
    if len(statuses) > 1:
        extra.append(Execution.status.is_in(*statuses))
    if filters.agent_id:
        key = partial(Execution.query, scoped_key(tenant_id, filters.agent_id), _range(Execution.sk, filters))
        if one_status:
            extra.append(Execution.status == one_status)
        if filters.user_id:
            extra.append(Execution.user_id == filters.user_id)
    elif one_status:
        key = partial(
            Execution.by_tenant_status.query,
            f"{tenant_id}#{one_status}",
            _range(Execution.started_at, filters),
        )
        if filters.user_id:
            extra.append(Execution.user_id == filters.user_id)
    elif filters.user_id:
        key = partial(
            Execution.by_user.query,
            scoped_key(tenant_id, filters.user_id),
            _range(Execution.started_at, filters),
        )
    else:
        key = partial(Execution.by_tenant.query, tenant_id, _range(Execution.started_at, filters))
    if filters.model:
        extra.append(Execution.model == filters.model)
    selective = bool(extra)
    condition = Execution.expires_at > now
    for more in extra:
        condition &= more
    return partial(key, filter_condition=condition), selective


@dataclass
class ExecutionPage(Page[Execution]):
    prev_cursor: str | None = None  # a `before` cursor: the page of newer rows; None on the first page


def _read(query, key, *, limit: int, page_size: int, forward: bool):
    """Up to `limit` items from `key` on in at most MAX_CALLS calls: (items, their keys, resume key)."""
    return read_bounded(
        query,
        Execution,
        limit=limit,
        max_calls=MAX_CALLS,
        start=key,
        page_size=page_size,
        scan_index_forward=forward,
    )


def bounded_page(
    query,
    *,
    purpose: str,
    limit: int,
    cursor: str | None,
    page_size: int,
    before: str | None = None,
) -> ExecutionPage:
    """Up to `limit` items, newest first, in at most MAX_CALLS DynamoDB calls (2 × MAX_CALLS when
    going back reaches the first page), resuming exactly after the last one shown.

    `before` (the `prev_cursor` of a later page) reads the rows just newer than that page, ascending
    from its first row (one more than a page, to know whether newer ones remain), newest first."""
    if before:
        back = decode_cursor(before, purpose)
        items, keys, key = _read(query, back, limit=limit + 1, page_size=page_size + 1, forward=True)
        if len(items) > limit or key:
            # Older rows go on from this page's oldest row (where the later page began); newer ones
            # from its newest row, or from where the read stopped short.
            newer = keys[limit - 1] if len(items) > limit else key
            items, keys = items[:limit], keys[:limit]
            items.reverse()
            return ExecutionPage(
                items=items,
                next_cursor=encode_cursor(keys[0] if keys else back, purpose),
                prev_cursor=encode_cursor(newer, purpose),
            )
        cursor = None  # at most a page is newer: that is the first page
    start = decode_cursor(cursor, purpose)
    items, keys, key = _read(query, start, limit=limit, page_size=page_size, forward=False)
    prev = (keys[0] if keys else start) if start else None
    return ExecutionPage(
        items=items, next_cursor=encode_cursor(key, purpose), prev_cursor=encode_cursor(prev, purpose)
    )


def list_executions(
    scope: AccessScope,
    filters: ExecutionFilters,
    *,
    tenant_id: str | None = None,
    cursor: str | None = None,
    before: str | None = None,
    limit: int = PAGE_SIZE,
) -> ExecutionPage:
    tenant_id = resolve_tenant(scope, tenant_id)
    if tenant_id is None:
        tenant_id = scope.require_tenant()
    if filters.agent_id:
        check_agent_id(filters.agent_id)
    query, selective = _history_query(tenant_id, filters)
    return bounded_page(
        query,
        purpose=f"executions:{tenant_id}:{filters.fingerprint()}",
        limit=limit,
        cursor=cursor,
        before=before,
        page_size=max(limit, FILTERED_READ) if selective else limit,
    )


def sort_rows(items: list[Execution], sort: str) -> list[Execution]:
    """A window of rows in the order asked for (ties: newest first)."""
    if sort == "cost":
        return sorted(items, key=lambda e: (-int(e.cost_micro_usd or 0), _desc(e.started_at)))
    if sort == "duration":
        return sorted(items, key=lambda e: (-int(e.duration_ms or 0), _desc(e.started_at)))
    return items


def _desc(text: str) -> tuple[int, ...]:
    return tuple(-ord(char) for char in text)


# Filters that combine an agent, user or model with another one, or with a status, have no rollup
# row: their totals are counted from the matching executions themselves, reading as many calls as the
# CSV may (so the totals are shown whenever the CSV can hold every match), two attributes per item.
TOTALS_CALLS = EXPORT_CALLS
TOTALS_PAGE: int | None = None  # items per call; None: as many as DynamoDB's 1 MB a call holds
TOTALS_ATTRIBUTES = ["status", "cost_micro_usd"]


@dataclass(frozen=True)
class FilteredTotals:
    """Runs, failures and cost of every execution the filters match, whichever page is shown."""

    count: int
    failures: int
    cost_micro_usd: int
    start: date
    end: date
    source: str  # rollups | counted (read from the executions) | "" (too many to count: not shown)

    @property
    def whole_set(self) -> bool:
        return bool(self.source)

    @property
    def failure_rate(self) -> float | None:
        return self.failures / self.count if self.count else None


def filtered_totals(tenant_id: str, filters: ExecutionFilters) -> FilteredTotals:
    """Totals of the whole filtered set: one rollup read when a rollup holds the filters (none, a
    status or "any failure" alone: the daily `total` / `status` rows of the range; one agent, user or
    model alone: its ranked rows of the whole months, weeks and days covering it); otherwise at most
    TOTALS_CALLS queries on the history's own key (see `_count_matches`)."""
    today = clock.now().date()
    start = filters.start or today - timedelta(days=EXECUTION_TTL_DAYS - 1)
    end = min(filters.end or today, today)
    named = [
        (d, v)
        for d, v in (("agent", filters.agent_id), ("user", filters.user_id), ("model", filters.model))
        if v
    ]
    if start > end:
        return FilteredTotals(0, 0, 0, start, end, "rollups")
    if len(named) > 1 or (named and filters.status):
        counted = _count_matches(tenant_id, filters)
        if counted is None:
            return FilteredTotals(0, 0, 0, start, end, "")
        return FilteredTotals(counted.count, counted.failures, counted.cost_micro_usd, start, end, "counted")
    if named:
        dimension, value = named[0]
        totals = figures(tenant_id, dimension, start, end, [value])[value]
    elif filters.status:
        totals = rollups.Totals()
        for (_, value), row in daily(tenant_id, "status", start, end).items():
            if value in filters.statuses:
                totals.merge(row)
    else:
        totals = rollups.Totals()
        for row in daily(tenant_id, "total", start, end).values():
            totals.merge(row)
    return FilteredTotals(totals.count, totals.failures, totals.cost_micro_usd, start, end, "rollups")


def _count_matches(tenant_id: str, filters: ExecutionFilters) -> Totals | None:
    """Runs, failures and cost of the executions the filters match, from the same query as the list
    and the CSV (so the three agree), in at most TOTALS_CALLS calls of up to 1 MB each; None when more
    match than those calls read (a partial sum would read as the whole)."""
    query, _ = _history_query(tenant_id, filters)
    totals = Totals()
    for page in raw_pages(
        query, max_calls=TOTALS_CALLS, page_size=TOTALS_PAGE, attributes_to_get=TOTALS_ATTRIBUTES
    ):
        for raw in page.items:
            totals.count += 1
            totals.failures += int(raw["status"]["S"] != "succeeded")
            totals.cost_micro_usd += int(raw.get("cost_micro_usd", {}).get("N", "0"))
        if not page.next_key:
            return totals
    return None


def export_rows(scope: AccessScope, filters: ExecutionFilters, tenant_id: str | None = None):
    """The filtered executions, newest first: at most EXPORT_ROWS rows in at most EXPORT_CALLS calls.

    Yields executions, then a last `bool`: whether more matched than were exported."""
    tenant_id = resolve_tenant(scope, tenant_id) or scope.require_tenant()
    if filters.agent_id:
        check_agent_id(filters.agent_id)
    query, _ = _history_query(tenant_id, filters)
    sent, more = 0, False
    for page in raw_pages(query, max_calls=EXPORT_CALLS, page_size=1_000, scan_index_forward=False):
        more = bool(page.next_key)
        for raw in page.items:
            yield Execution.from_raw_data(raw)
            sent += 1
            if sent == EXPORT_ROWS:
                yield more or raw is not page.items[-1]
                return
    yield more


def get_execution(scope: AccessScope, execution_id: str, tenant_id: str | None = None) -> Execution:
    """One execution of the reader's tenant (staff: of the tenant named or focused); one query."""
    tenant_id = resolve_tenant(scope, tenant_id) or scope.require_tenant()
    if not is_valid_id(execution_id):
        raise NotFound("That execution was not found.")
    now = clock.now()
    for execution in Execution.by_execution_id.query(scoped_key(tenant_id, execution_id), limit=5):
        if execution.expires_at > now:
            return execution
    raise NotFound("That execution was not found (executions are kept for 180 days).")


def recent_errors(tenant_id: str, limit: int = 50) -> list[str]:
    """The error messages of the tenant's latest failed executions (one query on the status index)."""
    failed = Execution.by_tenant_status.query(f"{tenant_id}#failed", scan_index_forward=False, limit=limit)
    return [execution.error or "(no message)" for execution in failed]


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


# --- staff prices ---------------------------------------------------------------------------


def all_staff_prices() -> list[ModelPrice]:
    """Every staff price of every tenant, retired ones included: one query of their one partition,
    strongly consistent (a price just saved prices the next call); past 1 MB it pages."""
    return list(ModelPrice.query(ModelPrice.BOOK, consistent_read=True))


def prices_changed_since(tenant_id: str | None) -> str | None:
    """The earliest day whose figures predate a staff price change that applies to this tenant (or,
    for all tenants, to any), None when every figure is at today's prices. One BatchGetItem of the
    `pending` markers (`PriceChange`): the one for every tenant and the tenant's."""
    scopes = [pricing.EVERY_TENANT, *([tenant_id] if tenant_id else [])]
    if tenant_id is None:  # staff over every tenant: any tenant's pending change counts
        markers = PriceChange.query(PriceChange.BOOK, PriceChange.item.startswith("pending#"))
    else:
        markers = PriceChange.batch_get([PriceChange.pending_key(scope) for scope in scopes])
    return min((marker.since for marker in markers if marker.since), default=None)


@dataclass
class Unpriced:
    """A model whose executions of a range have tokens but no cost: no price was known for it."""

    model: str
    count: int
    tokens: int
    priced_now: bool  # a price exists now: re-pricing fills the figures in


def unpriced_of(tenant_id: str, model_rows: dict[tuple[str, str], Totals]) -> list[Unpriced]:
    """From daily model rows already read (no DynamoDB call but the staff prices, cached)."""
    by_model: dict[str, Totals] = defaultdict(Totals)
    for (_, model), totals in model_rows.items():
        by_model[model].merge(totals)
    found = [
        Unpriced(
            model,
            totals.count,
            totals.tokens_in + totals.tokens_out,
            pricing.quote(tenant_id, model, pricing.Usage(input=1_000_000), clock.now()).priced,
        )
        for model, totals in by_model.items()
        if totals.cost_micro_usd == 0 and totals.tokens_in + totals.tokens_out > 0
    ]
    return sorted(found, key=lambda row: (-row.count, row.model))


def unpriced_models(tenant_id: str, start: date, end: date) -> list[Unpriced]:
    """The unpriced models of a range: 1 query of the daily model rows."""
    return unpriced_of(tenant_id, daily(tenant_id, "model", start, end))


@dataclass
class PricesPage:
    prices: list[ModelPrice]
    pending: list[PriceChange]  # `pending` markers: scopes whose figures predate a price change
    jobs: list[PriceChange]  # re-pricing runs, newest first


def prices_page(jobs: int = 10) -> PricesPage:
    """Every staff price, pending change and recent re-pricing run: two queries (one partition each)."""
    prices = sorted(all_staff_prices(), key=lambda p: (p.retired, p.model.lower(), p.scope, p.effective_from))
    pending, runs = [], []
    for item in PriceChange.query(PriceChange.BOOK, consistent_read=True):
        (pending if item.item.startswith("pending#") else runs).append(item)
    runs.sort(key=lambda job: job.created_at or "", reverse=True)
    return PricesPage(prices, pending, runs[:jobs])
