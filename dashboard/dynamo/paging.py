"""Cursor pagination over DynamoDB queries.

The cursor is DynamoDB's own `LastEvaluatedKey`, signed and base64-encoded so it is opaque to
clients and cannot be forged to read outside the query it came from (the salt names the query).
"""

from __future__ import annotations

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
