"""Running a marketplace transaction: lost conditions become `Conflict`, transient clashes are retried."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from pynamodb.constants import KEY
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from dashboard.dynamo.base import transact_write
from dashboard.dynamo.errors import Conflict
from dashboard.marketplace.models import AgentTemplate

ATTEMPTS = 12
TRANSIENT_ERRORS = {"TransactionConflictException", "TransactionInProgressException"}


def reasons(exc: TransactWriteError) -> set[str]:
    return {reason.code for reason in exc.cancellation_reasons if reason is not None}


def commit(build: Callable[[TransactWrite], None], conflict_message: str) -> None:
    """Run `build(tx)` in a fresh transaction until it lands.

    Another transaction touching the same item at the same moment (TransactionConflict) is retried
    with jittered backoff; a failed condition means someone else changed the data: `Conflict`.
    `build` must create its actions anew on every call (PynamoDB appends the version action to them).
    """
    for attempt in range(ATTEMPTS):
        try:
            with transact_write() as tx:
                build(tx)
            return
        except TransactWriteError as exc:
            codes = reasons(exc)
            if "ConditionalCheckFailed" in codes:
                raise Conflict(conflict_message) from None
            transient = "TransactionConflict" in codes or exc.cause_response_code in TRANSIENT_ERRORS
            if not transient:
                raise
            time.sleep(min(0.5, 0.01 * 2**attempt) * random.random())
    raise Conflict("The template is very busy right now; nothing was saved. Try again in a moment.")


def update_counters(tx: TransactWrite, template_id: str, actions: list[Action]) -> None:
    """An update of counters only: no version condition and no version bump, so counting never
    makes someone's open edit look stale, and concurrent counts never refuse each other."""
    hash_key, _ = AgentTemplate._serialize_keys(template_id, None)
    condition: Condition = AgentTemplate.template_id.exists()
    kwargs: dict[str, Any] = AgentTemplate._get_connection().get_operation_kwargs(
        hash_key, key=KEY, actions=actions, condition=condition
    )
    tx._update_items.append(kwargs)
