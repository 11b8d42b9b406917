"""Reads shared by the parts of one request (the tenant list the switcher and the page both show).

Outside a request (commands, tests calling services) nothing is kept: every call reads afresh.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")
_cache: ContextVar[dict[str, Any] | None] = ContextVar("request_cache", default=None)


@contextmanager
def request_scope() -> Iterator[None]:
    token = _cache.set({})
    try:
        yield
    finally:
        _cache.reset(token)


def remember(key: str, read: Callable[[], T]) -> T:
    cache = _cache.get()
    if cache is None:
        return read()
    if key not in cache:
        cache[key] = read()
    return cache[key]


def forget(key: str) -> None:
    """After a write of what `key` holds, so the rest of the request reads the new state."""
    cache = _cache.get()
    if cache is not None:
        cache.pop(key, None)
