"""Reading why a TransactWriteItems call was cancelled, and committing with retries of transient clashes."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from dashboard.core.errors import Conflict
from dashboard.dynamo.base import transact_write

ATTEMPTS = 12
TRANSIENT_ERRORS = {"TransactionConflictException", "TransactionInProgressException"}


def cancellation_codes(exc: TransactWriteError) -> list[str | None]:
    """One code per item of the transaction, in order (None where the item was fine)."""
    return [reason.code if reason is not None else None for reason in exc.cancellation_reasons or []]


def condition_failed(exc: TransactWriteError) -> bool:
    return "ConditionalCheckFailed" in cancellation_codes(exc)


def transient(exc: TransactWriteError) -> bool:
    """Another transaction touched the same item at the same moment: trying again may land."""
    return "TransactionConflict" in cancellation_codes(exc) or exc.cause_response_code in TRANSIENT_ERRORS


def commit(
    build: Callable[[TransactWrite], None],
    conflict_message: str,
    busy_message: str = "This item is very busy right now; nothing was saved. Try again in a moment.",
) -> None:
    """Run `build(tx)` in a fresh transaction until it lands.

    A transient clash is retried with jittered backoff; a failed condition means someone else
    changed the data: `Conflict`. `build` must create its actions anew on every call (PynamoDB
    appends the version action to them).
    """
    for attempt in range(ATTEMPTS):
        try:
            with transact_write() as tx:
                build(tx)
            return
        except TransactWriteError as exc:
            if condition_failed(exc):
                raise Conflict(conflict_message) from None
            if not transient(exc):
                raise
            time.sleep(min(0.5, 0.01 * 2**attempt) * random.random())  # noqa: S311 — jitter
    raise Conflict(busy_message)


def save_together(items: Iterable[Any], conflict_message: str, fields: dict[str, str] | None = None) -> None:
    """Save the items (say, a changed record and its audit event) in one transaction.

    Losing a race — a version or existence condition failed, or another transaction held an item —
    becomes `Conflict`: nothing was written and the person should look again before retrying.
    """
    try:
        with transact_write() as tx:
            for item in items:
                tx.save(item)
    except TransactWriteError as exc:
        if condition_failed(exc) or transient(exc):
            raise Conflict(conflict_message, fields) from None
        raise
