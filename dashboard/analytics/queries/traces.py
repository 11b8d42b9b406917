"""Reading a trace: its stored items as one state (what ingestion reconciles), and the step view of
one execution recorded from it (the execution page). One query of the trace's partition each."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dashboard.accounts.queries import retention_of
from dashboard.analytics.models import Execution, TraceItem
from dashboard.core import clock

# An execution recorded from a trace is named `<trace id>-<agent span id>` (dashboard.analytics.traces).
EXECUTION_ID = re.compile(r"^([0-9a-f]{32})-([0-9a-f]{16})$")
MAX_SPANS_PER_TRACE = 2_000


def trace_pk(tenant_id: str, trace_id: str) -> str:
    return f"{tenant_id}#{trace_id}"


def span_start(item: TraceItem) -> datetime:
    """When a stored span (or a count marker) started: what its retention counts from."""
    return datetime.fromtimestamp(int(item.start_ns) / 1e9, UTC)


@dataclass
class TraceState:
    spans: dict[str, TraceItem]
    pinned: dict[str, TraceItem]
    counted: dict[str, TraceItem]

    def execution_span_ids(self) -> set[str]:
        ids = set(self.pinned) | {span_id for span_id, span in self.spans.items() if span.kind == "agent"}
        if not any(span.kind == "agent" for span in self.spans.values()) and any(
            span.gen_ai for span in self.spans.values()
        ):
            ids |= {span_id for span_id, span in self.spans.items() if not span.parent_span_id}
        return ids

    def owner(self, span_id: str, executions: set[str]) -> str | None:
        """The nearest execution span at or above the span; None while the chain has a gap."""
        seen: set[str] = set()
        current: str | None = span_id
        while current and current not in seen:
            if current in executions:
                return current
            span = self.spans.get(current)
            if span is None:
                return None
            seen.add(current)
            current = span.parent_span_id
        return None


def read_trace(tenant_id: str, trace_id: str, consistent: bool) -> TraceState:
    """Every live item of one trace: its spans, the executions pinned to it, the counted calls.

    Content past the tenant's content retention reads as absent: items say when theirs goes
    (`content_expires_at`, TraceItem hides it); spans stored before they said so go by the tenant's
    content retention of now, counted from their start."""
    now = clock.now()
    content_days = retention_of(tenant_id).content_days
    state = TraceState({}, {}, {})
    for item in TraceItem.query(trace_pk(tenant_id, trace_id), consistent_read=consistent):
        if item.expires_at <= now:  # DynamoDB deletes expired items late: hide them
            continue
        if (
            item.content_expires_at is None
            and item.start_ns
            and span_start(item) + timedelta(days=content_days) <= now
        ):
            item.hide_content()
        kind, _, span_id = item.sk.partition("#")
        target = {"span": state.spans, "exec": state.pinned, "count": state.counted}.get(kind)
        if target is not None:
            target[span_id] = item
    return state


@dataclass
class Step:
    span: TraceItem
    depth: int
    offset_pct: float
    width_pct: float
    counted: bool  # its tokens and cost are in this execution's totals

    @property
    def duration_ms(self) -> int:
        return round((int(self.span.end_ns) - int(self.span.start_ns)) / 1e6)


@dataclass
class TraceView:
    trace_id: str
    steps: list[Step]
    tokens_in: int
    tokens_out: int
    cost_micro_usd: int

    @property
    def failed_steps(self) -> list[Step]:
        return [step for step in self.steps if step.span.failed]

    @property
    def failing_step(self) -> Step | None:
        """Where the failure began: the first failed step with no failed step below it."""
        failed_parents = {step.span.parent_span_id for step in self.failed_steps}
        return next((step for step in self.failed_steps if step.span.span_id not in failed_parents), None)


def execution_steps(execution: Execution) -> TraceView | None:
    """The steps of an execution recorded from a trace, as a tree in time order (None: not a trace)."""
    match = EXECUTION_ID.match(execution.execution_id)
    if not match:
        return None
    trace_id, span_id = match.groups()
    state = read_trace(execution.tenant_id, trace_id, consistent=False)
    root = state.spans.get(span_id)
    if root is None:
        return None
    children: dict[str, list[TraceItem]] = defaultdict(list)
    for span in state.spans.values():
        if span.parent_span_id:
            children[span.parent_span_id].append(span)
    counted = {
        span_id: marker
        for span_id, marker in state.counted.items()
        if marker.execution_id == execution.execution_id
    }
    start, total = int(root.start_ns), max(int(root.end_ns) - int(root.start_ns), 1)
    steps: list[Step] = []
    stack: list[tuple[TraceItem, int]] = [(root, 0)]
    seen: set[str] = set()
    while stack and len(steps) < MAX_SPANS_PER_TRACE:
        span, depth = stack.pop()
        if span.span_id in seen:
            continue
        seen.add(span.span_id)
        offset = min(max((int(span.start_ns) - start) / total, 0.0), 1.0)
        width = min(max((int(span.end_ns) - int(span.start_ns)) / total, 0.0), 1.0 - offset)
        steps.append(
            Step(span, depth, round(100 * offset, 2), round(100 * width, 2), span.span_id in counted)
        )
        ordered = sorted(children.get(span.span_id, []), key=lambda s: (int(s.start_ns), s.span_id))
        stack.extend((child, depth + 1) for child in reversed(ordered))
    return TraceView(
        trace_id=trace_id,
        steps=steps,
        tokens_in=sum(int(marker.tokens_in) for marker in counted.values()),
        tokens_out=sum(int(marker.tokens_out) for marker in counted.values()),
        cost_micro_usd=sum(int(marker.cost_micro_usd) for marker in counted.values()),
    )
