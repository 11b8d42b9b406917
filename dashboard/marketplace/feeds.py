"""One page merged from several sorted DynamoDB queries, with one opaque cursor for all of them.

Browse shows the public catalogue and the viewer's private templates in one list. They live in
different GSI partitions, so a page queries each partition once (at most `limit` items each), merges
them by the sort key and keeps `limit`. The cursor remembers, per partition, the key of the last item
shown, so the next page starts exactly after it: a page costs one query per partition, however many
templates there are.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dashboard.dynamo.paging import BadCursor, Page, decode_cursor, encode_cursor


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
