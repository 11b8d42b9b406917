"""Counts DynamoDB calls and consumed capacity per request, through a botocore event hook."""

from __future__ import annotations

import contextvars
import weakref
from dataclasses import dataclass, field


@dataclass
class CallStats:
    calls: int = 0
    capacity: float = 0.0
    operations: dict[str, int] = field(default_factory=dict)

    def add(self, operation: str, capacity: float) -> None:
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


def instrument(client) -> None:
    if client not in _instrumented:
        client.meta.events.register("after-call.dynamodb", _after_call)
        _instrumented.add(client)


class track:
    """`with track() as stats:` counts the DynamoDB calls made inside the block."""

    def __enter__(self) -> CallStats:
        self.stats = CallStats()
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
