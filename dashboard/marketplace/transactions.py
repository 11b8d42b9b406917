"""Marketplace transactions: the commit with the marketplace's wording, and counter updates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pynamodb.constants import KEY
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from dashboard.dynamo import transactions
from dashboard.marketplace.models import AgentTemplate

BUSY = "The template is very busy right now; nothing was saved. Try again in a moment."


def commit(build: Callable[[TransactWrite], None], conflict_message: str) -> None:
    transactions.commit(build, conflict_message, BUSY)


def update_counters(tx: TransactWrite, template_id: str, actions: list[Action]) -> None:
    """An update of counters only: no version condition and no version bump, so counting never
    makes someone's open edit look stale, and concurrent counts never refuse each other."""
    hash_key, _ = AgentTemplate._serialize_keys(template_id, None)
    condition: Condition = AgentTemplate.template_id.exists()
    kwargs: dict[str, Any] = AgentTemplate._get_connection().get_operation_kwargs(
        hash_key, key=KEY, actions=actions, condition=condition
    )
    tx._update_items.append(kwargs)
