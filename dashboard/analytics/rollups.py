"""Rollup rows: which counters one execution adds to, and summing rows read back.

Every execution adds to five rows of its tenant and UTC day (the day it started):
`tenant#total` / `day#all`, `tenant#agent` / `day#<agent_id>`, `tenant#model` / `day#<model>`,
`tenant#user` / `day#<user_id>`, `tenant#status` / `day#<status>`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from dashboard.analytics import latency
from dashboard.analytics.models import Execution, ExecutionRollup

DIMENSIONS = ("total", "agent", "model", "user", "status")
TOTAL_VALUE = "all"
COUNTERS = ("count", "failures", "cost_micro_usd", "tokens_in", "tokens_out", "duration_ms_sum")


def pk(tenant_id: str, dimension: str) -> str:
    return f"{tenant_id}#{dimension}"


def sk(day: str, value: str) -> str:
    return f"{day}#{value}"


def day_of(started_at: str) -> str:
    return started_at[:10]


def dimension_values(execution: Execution) -> dict[str, str]:
    return {
        "total": TOTAL_VALUE,
        "agent": execution.agent_id,
        "model": execution.model,
        "user": execution.user_id,
        "status": execution.status,
    }


def keys_for(execution: Execution) -> list[tuple[str, str]]:
    day = day_of(execution.started_at)
    return [
        (pk(execution.tenant_id, dimension), sk(day, value))
        for dimension, value in dimension_values(execution).items()
    ]


def increments(execution: Execution) -> dict[str, int]:
    """The counters one execution adds to each of its rows (bucket attribute included)."""
    return {
        "count": 1,
        "failures": 0 if execution.status == "succeeded" else 1,
        "cost_micro_usd": int(execution.cost_micro_usd),
        "tokens_in": int(execution.tokens_in),
        "tokens_out": int(execution.tokens_out),
        "duration_ms_sum": int(execution.duration_ms),
        latency.bucket_attribute(execution.duration_ms): 1,
    }


@dataclass
class Totals:
    """Summed counters of some rollup rows (or of raw executions, for checks)."""

    count: int = 0
    failures: int = 0
    cost_micro_usd: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    duration_ms_sum: int = 0
    buckets: list[int] = field(default_factory=lambda: [0] * latency.BUCKET_COUNT)

    def add_row(self, row: ExecutionRollup) -> None:
        for name in COUNTERS:
            setattr(self, name, getattr(self, name) + int(getattr(row, name) or 0))
        for index, name in enumerate(latency.BUCKET_ATTRIBUTES):
            value = getattr(row, name, None)
            if value:
                self.buckets[index] += int(value)

    def merge(self, other: Totals) -> None:
        for name in COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.buckets = [mine + theirs for mine, theirs in zip(self.buckets, other.buckets, strict=True)]

    def add_execution(self, execution: Execution) -> None:
        for name, value in increments(execution).items():
            if name in COUNTERS:
                setattr(self, name, getattr(self, name) + value)
        self.buckets[latency.bucket_index(execution.duration_ms)] += 1

    def as_dict(self) -> dict:
        return {
            **{name: getattr(self, name) for name in COUNTERS},
            **{n: c for n, c in zip(latency.BUCKET_ATTRIBUTES, self.buckets, strict=True) if c},
        }

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out

    @property
    def successes(self) -> int:
        return self.count - self.failures

    @property
    def success_rate(self) -> float | None:
        return self.successes / self.count if self.count else None

    @property
    def avg_ms(self) -> int | None:
        return round(self.duration_ms_sum / self.count) if self.count else None

    @property
    def p50_ms(self) -> int | None:
        return latency.percentile(self.buckets, 0.50)

    @property
    def p95_ms(self) -> int | None:
        return latency.percentile(self.buckets, 0.95)


class Accumulator:
    """Rollup rows computed in memory from executions (seeding, benchmark, consistency checks)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], Totals] = {}

    def add(self, execution: Execution) -> None:
        for key in keys_for(execution):
            totals = self.rows.get(key)
            if totals is None:
                totals = self.rows[key] = Totals()
            totals.add_execution(execution)

    def add_all(self, executions: Iterable[Execution]) -> Accumulator:
        for execution in executions:
            self.add(execution)
        return self

    def items(self) -> Iterable[ExecutionRollup]:
        for (row_pk, row_sk), totals in self.rows.items():
            yield ExecutionRollup(row_pk, row_sk, **totals.as_dict())
