"""Reading why a TransactWriteItems call was cancelled, and committing with retries of transient clashes."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from dashboard.core.errors import Conflict, ServiceUnavailable
from dashboard.dynamo.base import client_of, transact_write

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


Builder = Callable[[TransactWrite], None]
BUSY = "This item is very busy right now; nothing was saved. Try again in a moment."


class Backoff:
    """The pacing of every write that is tried again after a clash: jittered, doubling waits, and an
    end. `wait(cause)` sleeps before the next try, or raises `give_up()` (None: the cause itself)
    once `attempts` tries have failed; `on_wait` counts the retries where a caller reports them."""

    def __init__(
        self,
        attempts: int = ATTEMPTS,
        *,
        first: float = 0.02,
        most: float = 1.0,
        give_up: Callable[[], BaseException] | None = None,
        on_wait: Callable[[], None] | None = None,
    ) -> None:
        self.attempts, self.delay, self.most = attempts, first, most
        self.give_up, self.on_wait = give_up, on_wait
        self.attempt = 0

    def wait(self, cause: BaseException | None = None) -> None:
        self.attempt += 1
        if self.attempt >= self.attempts:
            if self.give_up is None and cause is not None:
                raise cause
            raise (self.give_up or (lambda: Conflict(BUSY)))() from cause
        if self.on_wait is not None:
            self.on_wait()
        time.sleep(self.delay * (1 + random.random()))  # noqa: S311 — jitter, not security
        self.delay = min(self.delay * 2, self.most)


def with_retries(
    prepare: Callable[[], Builder | None],
    *,
    on_conflict: Callable[[], None],
    attempts: int = ATTEMPTS,
    busy_message: str = BUSY,
) -> bool:
    """Commit the transaction `prepare()` describes, trying again while it clashes.

    Each try calls `prepare()` afresh: it reads what the transaction depends on and returns the
    function that adds the items to it, or None when there is nothing (left) to write. A transient
    clash (another transaction held an item) is retried with `Backoff`. A failed condition calls
    `on_conflict()`, which raises (someone else changed the data: the caller's `Conflict`) or returns
    to try again from a fresh read. After `attempts` tries: `Conflict(busy_message)`.
    Returns whether a transaction was written.
    """
    backoff = Backoff(attempts, first=0.01, most=0.5, give_up=lambda: Conflict(busy_message))
    while True:
        build = prepare()
        if build is None:
            return False
        try:
            with transact_write() as tx:
                build(tx)
            return True
        except TransactWriteError as exc:
            if condition_failed(exc):
                on_conflict()
            elif not transient(exc):
                raise
            backoff.wait(exc)


def commit(build: Builder, conflict_message: str, busy_message: str = BUSY) -> None:
    """Run `build(tx)` in a fresh transaction until it lands; a failed condition is `Conflict`.

    `build` must create its actions anew on every call (PynamoDB appends the version action to them).
    """

    def refuse() -> None:
        raise Conflict(conflict_message)

    with_retries(lambda: build, on_conflict=refuse, busy_message=busy_message)


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


BATCH_WRITE_LIMIT = 25  # DynamoDB's BatchWriteItem limit


def batch_put(model_cls, items: list) -> None:
    """Put many items of one table, 25 a call, retrying what DynamoDB leaves unprocessed with backoff.
    Not atomic: for items that are the same whenever they are written again (imports, caches).

    On DynamoDB Local (a loopback endpoint) the items go in transactions of up to 100 instead: the
    engine keeps its tables in SQLite on disk and commits each item of a BatchWriteItem on its own
    (a disk sync each) but a TransactWriteItems at once, about ten times faster (`make run`'s demo,
    imports on a laptop). On AWS a transaction would cost twice the write units: batches there."""
    if _on_dynamodb_local():
        _put_in_transactions(model_cls, items)
        return
    client = client_of(model_cls)
    table = model_cls.Meta.table_name
    for start in range(0, len(items), BATCH_WRITE_LIMIT):
        request = {
            table: [
                {"PutRequest": {"Item": item.serialize()}}
                for item in items[start : start + BATCH_WRITE_LIMIT]
            ]
        }
        backoff = Backoff(ATTEMPTS * 2, first=0.05, most=2.0, give_up=lambda: ServiceUnavailable(BUSY))
        while request:
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
            if request:
                backoff.wait()


TRANSACTION_ITEMS = 100  # DynamoDB's TransactWriteItems limit
TRANSACTION_BYTES = 3_500_000  # under its 4 MB a request
RETRYABLE = {"TransactionConflictException", "TransactionInProgressException", "ThrottlingException"}


def _on_dynamodb_local() -> bool:
    from django.conf import settings

    from dashboard.dynamo.local import local_port

    return local_port(settings.DYNAMODB_ENDPOINT_URL) is not None


def _base64_text(raw: bytes) -> str:
    """A stand-in as long as a binary attribute's base64 text in the request."""
    return "x" * (4 * ((len(raw) + 2) // 3))


def _put_in_transactions(model_cls, items: list) -> None:
    client = client_of(model_cls)
    table = model_cls.Meta.table_name
    actions: list[dict] = []
    size = 0
    for item in items:
        serialized = item.serialize()
        item_size = len(json.dumps(serialized, default=_base64_text))  # as sent: binary in base64
        if actions and (len(actions) == TRANSACTION_ITEMS or size + item_size > TRANSACTION_BYTES):
            _transact(client, actions)
            actions, size = [], 0
        actions.append({"Put": {"TableName": table, "Item": serialized}})
        size += item_size
    if actions:
        _transact(client, actions)


def _transact(client, actions: list[dict]) -> None:
    backoff = Backoff(first=0.05)
    while True:
        try:
            client.transact_write_items(TransactItems=actions)
            return
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            reasons = {reason.get("Code") for reason in exc.response.get("CancellationReasons") or []}
            clash = code in RETRYABLE or (
                code == "TransactionCanceledException" and reasons <= {"None", "TransactionConflict", None}
            )
            if not clash:
                raise
            backoff.wait(exc)
