"""Cursor pagination over DynamoDB queries.

The cursor is DynamoDB's own `LastEvaluatedKey`, signed and base64-encoded so it is opaque to
clients and cannot be forged to read outside the query it came from (the salt names the query).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.core import signing

from dashboard.core.errors import DashboardError

T = TypeVar("T")


class BadCursor(DashboardError):
    status = 400
    code = "bad_cursor"


def encode_cursor(key: dict | None, purpose: str) -> str | None:
    if not key:
        return None
    return signing.dumps(key, salt=f"cursor:{purpose}", compress=True)


def decode_cursor(cursor: str | None, purpose: str) -> dict | None:
    if not cursor:
        return None
    try:
        return signing.loads(cursor, salt=f"cursor:{purpose}")
    except signing.BadSignature as exc:
        raise BadCursor(
            "That page link is not valid any more; start again from the first page.",
            {"cursor": "invalid cursor"},
        ) from exc


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def paginate(query: Callable[..., Any], *, purpose: str, limit: int, cursor: str | None = None) -> Page:
    """Run `query(limit=..., page_size=..., last_evaluated_key=...)` for one page.

    `query` is a PynamoDB `Model.query`/`Index.query` with its key condition already bound
    (functools.partial), so a page is one DynamoDB call unless a filter discards items.
    """
    results = query(limit=limit, page_size=limit, last_evaluated_key=decode_cursor(cursor, purpose))
    items = list(results)
    next_key = results.last_evaluated_key if len(items) >= limit else None
    return Page(items=items, next_cursor=encode_cursor(next_key, purpose))


def raw_pages(
    query: Callable[..., Any], *, max_calls: int, start: dict | None = None, **options
) -> Iterator[RawPage]:
    """The pages of one query as DynamoDB answers them, one call each, at most `max_calls`, from
    `start` (a LastEvaluatedKey) on: the one loop every bounded read below drives. Raw items, so a
    reader that only sums a few attributes builds no model objects."""
    key = start
    for _ in range(max_calls):
        results = query(last_evaluated_key=key, **options)
        page = next(results.page_iter, {})
        key = page.get("LastEvaluatedKey")
        yield RawPage(page.get("Items", []), key, tuple(results.page_iter.key_names))
        if not key:
            return


@dataclass
class RawPage:
    items: list[dict]
    next_key: dict | None  # None: the query is read to its end
    key_names: tuple[str, ...]  # what a LastEvaluatedKey of this query holds

    def key_of(self, raw: dict) -> dict:
        return {name: raw[name] for name in self.key_names}


def read_bounded(
    query: Callable[..., Any],
    model: type,
    *,
    limit: int,
    max_calls: int,
    start: dict | None = None,
    **options,
) -> tuple[list, list[dict], dict | None]:
    """Up to `limit` items from `start` on in at most `max_calls` calls: (items, the key of each, the
    key to resume from exactly after the last item, None when nothing is left)."""
    items: list = []
    keys: list[dict] = []
    key = start
    for page in raw_pages(query, max_calls=max_calls, start=start, **options):
        key = page.next_key
        for position, raw in enumerate(page.items):
            items.append(model.from_raw_data(raw))
            keys.append(page.key_of(raw))
            if len(items) == limit:
                more = position < len(page.items) - 1 or page.next_key
                return items, keys, keys[-1] if more else None
    return items, keys, key


def bounded_page(
    query: Callable[..., Any],
    model: type,
    *,
    purpose: str,
    limit: int,
    cursor: str | None,
    page_size: int,
    max_calls: int,
) -> Page:
    """Up to `limit` items in at most `max_calls` DynamoDB calls, resuming exactly after the last one.

    For queries whose filter may discard many items: each call reads `page_size` items; when the calls
    run out first, the page is shorter and its cursor continues where the reading stopped (a rare
    match costs a bounded number of calls per page, never a walk through the whole partition).
    """
    items, _, key = read_bounded(
        query,
        model,
        limit=limit,
        max_calls=max_calls,
        start=decode_cursor(cursor, purpose),
        page_size=page_size,
    )
    return Page(items=items, next_cursor=encode_cursor(key, purpose))


# --- one page merged from several sorted queries -------------------------------------------------
#
# A list that spans several GSI partitions (the public catalogue and the viewer's private templates)
# queries each partition once per page (at most `limit` items each), merges them by the sort key and
# keeps `limit`. The cursor remembers, per partition, the key of the last item shown, so the next page
# starts exactly after it: a page costs one query per partition, however many items there are.


@dataclass
class Stream:
    name: str
    query: Callable[..., Any]  # Model.query / Index.query with its hash key bound, newest/highest first
    key_names: tuple[str, ...]  # the attributes of its LastEvaluatedKey: table key + index key
    sort_value: Callable[[Any], Any]


def _key_of(item, key_names: tuple[str, ...]) -> dict:
    serialized = item.serialize()
    return {name: serialized[name] for name in key_names}


def merged_page(streams: list[Stream], *, purpose: str, limit: int, cursor: str | None = None) -> Page:
    state: dict[str, Any] = decode_cursor(cursor, purpose) or {}
    if not isinstance(state, dict):
        raise BadCursor("That page link is not valid any more; start again from the first page.")
    fetched: list[list[tuple[Any, Any, int]]] = []
    more: list[bool] = []
    for index, stream in enumerate(streams):
        position = state.get(stream.name)
        if position == "done":
            fetched.append([])
            more.append(False)
            continue
        results = stream.query(limit=limit, page_size=limit, last_evaluated_key=position)
        items = list(results)
        fetched.append([(stream.sort_value(item), item, index) for item in items])
        more.append(len(items) >= limit and results.last_evaluated_key is not None)
    merged = heapq.merge(*fetched, key=lambda entry: entry[0], reverse=True)
    shown = [entry for _, entry in zip(range(limit), merged, strict=False)]
    consumed = [0] * len(streams)
    for _, _, index in shown:
        consumed[index] += 1
    next_state: dict[str, Any] = {}
    for index, stream in enumerate(streams):
        if state.get(stream.name) == "done" or (consumed[index] == len(fetched[index]) and not more[index]):
            next_state[stream.name] = "done"
        elif consumed[index]:
            next_state[stream.name] = _key_of(fetched[index][consumed[index] - 1][1], stream.key_names)
        else:
            next_state[stream.name] = state.get(stream.name)
    finished = all(value == "done" for value in next_state.values())
    return Page(
        items=[item for _, item, _ in shown],
        next_cursor=None if finished else encode_cursor(next_state, purpose),
    )
