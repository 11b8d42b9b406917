"""Counts DynamoDB calls and consumed capacity per request, through botocore event hooks.

DynamoDB reports consumed units only when asked (`ReturnConsumedCapacity`), so while a block is
tracked with capacity on (the response headers, a benchmark) every call that accepts the parameter
asks for TOTAL; otherwise nothing is added to the calls.
"""

from __future__ import annotations

import contextvars
import threading
import weakref
from dataclasses import dataclass, field


@dataclass
class CallStats:
    want_capacity: bool = False
    calls: int = 0
    capacity: float = 0.0
    operations: dict[str, int] = field(default_factory=dict)
    # A request may read from a few threads at once (analytics): the counts stay exact.
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, operation: str, capacity: float) -> None:
        with self.lock:
            self.calls += 1
            self.capacity += capacity
            self.operations[operation] = self.operations.get(operation, 0) + 1


_current: contextvars.ContextVar[CallStats | None] = contextvars.ContextVar("dynamo_call_stats", default=None)
_instrumented: weakref.WeakSet = weakref.WeakSet()


def _consumed(parsed: dict) -> float:
    consumed = parsed.get("ConsumedCapacity")
    if isinstance(consumed, dict):
        consumed = [consumed]
    return sum(float(item.get("CapacityUnits", 0) or 0) for item in consumed or [])


def _after_call(http_response=None, parsed=None, model=None, **kwargs) -> None:
    stats = _current.get()
    if stats is not None and model is not None:
        stats.add(model.name, _consumed(parsed or {}))


# The operations that accept ReturnConsumedCapacity (the others refuse an unknown parameter).
CAPACITY_OPERATIONS = frozenset(
    {
        "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem",
        "BatchWriteItem", "TransactGetItems", "TransactWriteItems", "ExecuteStatement",
        "BatchExecuteStatement", "ExecuteTransaction",
    }
)  # fmt: skip


def _before_call(params=None, model=None, **kwargs) -> None:
    stats = _current.get()
    if stats is None or not stats.want_capacity or model is None or params is None:
        return
    if model.name in CAPACITY_OPERATIONS:
        params.setdefault("ReturnConsumedCapacity", "TOTAL")


def instrument(client) -> None:
    if client not in _instrumented:
        client.meta.events.register("provide-client-params.dynamodb", _before_call)
        client.meta.events.register("after-call.dynamodb", _after_call)
        _instrumented.add(client)


class track:
    """`with track() as stats:` counts the DynamoDB calls made inside the block.

    `capacity=True` also asks DynamoDB for the units each call consumed (see the module docstring).
    """

    def __init__(self, capacity: bool = False) -> None:
        self.capacity = capacity

    def __enter__(self) -> CallStats:
        outer = _current.get()
        self.stats = CallStats(want_capacity=self.capacity or bool(outer and outer.want_capacity))
        self._outer = _current.get()
        self._token = _current.set(self.stats)
        return self.stats

    def __exit__(self, *exc) -> None:
        _current.reset(self._token)
        if self._outer is not None:
            # Nested tracking (a benchmark around a request): the outer block counts these calls too.
            self._outer.calls += self.stats.calls
            self._outer.capacity += self.stats.capacity
            for operation, count in self.stats.operations.items():
                self._outer.operations[operation] = self._outer.operations.get(operation, 0) + count
