"""OpenTelemetry traces → executions and their steps, counted once whatever the order of arrival.

Spans are stored first, then the trace is *reconciled*: every export that touches a trace stores its
spans, reads the whole trace back (a strongly consistent query of its one partition, see
`TraceItem`) and brings the derived data up to date. Reconciling is idempotent, so exports may come
split, in any order, twice, or at the same time:

1. **Store.** Each span becomes a `span#` item (what a step shows, never the raw span). The same span
   sent again is skipped; the new spans of all of an export's traces are written with BatchWriteItem.
2. **Executions.** An agent span (`gen_ai.operation.name = invoke_agent`, OpenInference `AGENT`,
   Traceloop `agent`: see otlp.py) is an execution; so is the root span of a trace that has
   LLM-convention spans (GenAI, OpenLLMetry, OpenInference) but no agent span (a workflow or a bare call).
   The execution is first *pinned* (`exec#` item, conditional put: the first writer wins), so every
   later reconcile builds exactly the same Execution, then recorded through
   `services.build_execution` / `write_execution` (idempotent: counted once) **with zero tokens and
   zero cost**; the pin is then marked `recorded` so later exports skip that transaction. Its model is the agent span's, else the first model call's already stored, else
   `unknown`; status, times, user and agent come from the agent span alone.
3. **Model calls.** Each model-call span adds its tokens and cost to its execution (the nearest agent
   span above it) in one transaction with the execution's rollup rows and a `count#` marker put on
   condition it does not exist yet. So a model call is added exactly once, whether it came before,
   with or after its agent span, and the execution's totals (and the rollups) always equal the sum
   of the model calls counted for it, which is what the step view sums too.

Why this is race-free: an export reconciles *after* its own spans are stored. Of two exports racing
on one trace, the one that stores last reads both exports' spans, so nothing is left uncounted; both
may try to count the same call, and the marker's condition lets only one transaction land. An
execution is visible with zero tokens only between its recording and the count transaction right
after it; if the process dies in between, the client's retry (OTLP exporters retry on 5xx and on
broken connections) reconciles again.

Limits: a step item stays a few KB (names, errors and input/output are cut), far below DynamoDB's
400 KB item limit, and a trace keeps at most MAX_SPANS_PER_TRACE spans: the rest are rejected
(partial success, with the reason) so a runaway trace cannot make every later export of it read an
unbounded partition. The bound is checked before writing, so two exports racing may pass it slightly.
A model call that arrives after a nested agent span was recorded stays with the execution it was
first counted for. Spans whose chain up to an agent span is still missing wait for the next export.
Two instrumentations stacked on one call (e.g. smolagents' and OpenAI's OpenInference instrumentors
together) make two model-call spans, both counted: instrument one layer.

Spans the dashboard cannot map (no LLM convention, below no execution) are stored and counted per
instrumentation scope for the operations page (`not_understood`), each once, when its trace's root is in.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import PutError, TransactWriteError

from dashboard.analytics import events, pricing, rollups, services
from dashboard.analytics.models import EXECUTION_TTL_DAYS, Execution, ExecutionRollup, TraceItem
from dashboard.analytics.queries.traces import (
    MAX_SPANS_PER_TRACE,
    TraceState,
    read_trace,
    trace_pk,
)
from dashboard.analytics.spans import GENERIC_ERROR, SpanValues, spans_of
from dashboard.core import clock
from dashboard.core.clock import iso_ms
from dashboard.core.errors import NotFound, ServiceUnavailable
from dashboard.core.otlp import Acceptance
from dashboard.core.scope import API, AccessScope
from dashboard.dynamo.base import transact_write
from dashboard.dynamo.transactions import Backoff, cancellation_codes
from dashboard.operations import services as operations

# Per export (what one request may make the web process do): the spans, distinct traces and agent
# spans (each an execution: several transactions) beyond these are rejected with partial success.
MAX_SPANS_PER_EXPORT = 1_000
MAX_TRACES_PER_EXPORT = 100
MAX_AGENT_SPANS_PER_EXPORT = 25  # each ~8 DynamoDB calls (pin, record, count): a few seconds in all
# Markers per transaction: with the execution and its rollup rows (16, up to 92 with an environment
# (its sub-scope's rows too), 10 tags, 5 counted metadata keys, a session and a template:
# rollups.keys_for, hourly rows included) it stays within TransactWriteItems' 100 items.
TX_ITEMS = 100
MAX_ATTEMPTS = 8
FUTURE_TOLERANCE = timedelta(minutes=5)
MAX_DURATION_MS = 86_400_000
TRANSIENT = {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
SPAN, EXEC, COUNT = "span#", "exec#", "count#"
TOKEN_KINDS = ("tokens_cache_read", "tokens_cache_write", "tokens_reasoning")
NO_SCOPE = "(no scope name)"


def execution_id_for(trace_id: str, span_id: str) -> str:
    return f"{trace_id}-{span_id}"


def _moment(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, UTC)


def span_item(tenant_id: str, values: SpanValues) -> TraceItem:
    """The `span#` item stored for one span (what a step shows; model calls priced at their start)."""
    usage = values.usage
    price = (
        pricing.quote(tenant_id, values.model, usage, _moment(values.start_ns), values.provider)
        if values.kind == "model" and values.model
        else pricing.UNPRICED
    )
    return TraceItem(
        trace_pk(tenant_id, values.trace_id),
        SPAN + values.span_id,
        tenant_id=tenant_id,
        trace_id=values.trace_id,
        span_id=values.span_id,
        parent_span_id=values.parent_span_id,
        name=values.name,
        kind=values.kind,
        operation=values.operation,
        gen_ai=values.gen_ai,
        model=values.model,
        provider=values.provider,
        tokens_in=usage.input,
        tokens_out=usage.output,
        tokens_cache_read=usage.cache_read,
        tokens_cache_write=usage.cache_write,
        tokens_reasoning=usage.reasoning,
        cost_micro_usd=price.cost_micro_usd,
        priced=price.priced or values.kind != "model",
        price_source=price.source if values.kind == "model" else None,
        price_ref=price.ref,
        start_ns=values.start_ns,
        end_ns=values.end_ns,
        failed=values.failed,
        error=values.error,
        agent_id=values.agent_id,
        user_id=values.user_id,
        session_id=values.session_id,
        tags=values.tags,
        environment=values.environment,
        metadata=json.dumps(values.metadata) if values.metadata else None,
        flow_id=values.flow_id,
        scope=values.scope or None,
        input=values.input,
        output=values.output,
        # As an execution's: the item goes with the tenant's retention of executions, its input and
        # output with their shorter one (both counted from the span's start).
        **services.retention_stamps(tenant_id, _moment(values.start_ns)),
    )


def _time_problem(values: SpanValues, now: datetime) -> str | None:
    started = _moment(values.start_ns)
    if started > now + FUTURE_TOLERANCE:
        return "the span starts in the future"
    if started <= now - timedelta(days=EXECUTION_TTL_DAYS):
        return f"the span is older than the {EXECUTION_TTL_DAYS} days executions are kept"
    return None


def accept(scope: AccessScope, request) -> Acceptance:
    """Store the spans of an ExportTraceServiceRequest and reconcile each trace they touch."""
    scope.require_role(API)
    tenant_id = scope.require_tenant()
    values, reasons = spans_of(request)
    result = Acceptance("span")
    for reason in reasons:
        result.reject(reason)
    now = clock.now()
    by_trace: dict[str, dict[str, SpanValues]] = defaultdict(dict)
    for span in values:
        problem = _time_problem(span, now)
        if problem:
            result.reject(problem)
        else:
            by_trace[span.trace_id][span.span_id] = span  # the same span twice in one export: once
    _within_export_limits(by_trace, result)
    # Read every trace, then store the new spans of all of them in one BatchWriteItem run (25 a call),
    # then reconcile each trace from a fresh read: each trace's spans are stored before it is reconciled.
    before = {trace_id: read_trace(tenant_id, trace_id, consistent=True) for trace_id in by_trace}
    new = {
        trace_id: _new_spans(before[trace_id], incoming, result) for trace_id, incoming in by_trace.items()
    }
    result.written = sum(len(spans) for spans in new.values())
    if any(new.values()):
        with TraceItem.batch_write() as batch:
            for spans in new.values():
                for span in spans:
                    batch.save(span_item(tenant_id, span))
    not_understood_spans: Counter[str] = Counter()
    for trace_id, incoming in by_trace.items():
        state = read_trace(tenant_id, trace_id, consistent=True) if new[trace_id] else before[trace_id]
        reconcile(tenant_id, trace_id, state, set(incoming), result)
        for span in not_understood(state, before[trace_id], {span.span_id for span in new[trace_id]}):
            not_understood_spans[span.scope or NO_SCOPE] += 1
    if not_understood_spans:
        operations.count_spans_not_understood(not_understood_spans, now)
    if any(new.values()):
        events.recorded(tenant_id)  # alerts check the figures the new spans added to
    return result


def _within_export_limits(by_trace: dict[str, dict[str, SpanValues]], result: Acceptance) -> None:
    """Keep whole traces, in the order they came, while the export stays within its limits; reject
    the rest (a trace is never cut here: its agent spans need their model calls)."""
    spans = traces = agents = 0
    for trace_id in list(by_trace):
        incoming = by_trace[trace_id]
        trace_agents = sum(1 for span in incoming.values() if span.kind == "agent")
        reason = None
        if traces + 1 > MAX_TRACES_PER_EXPORT:
            reason = (
                f"an export holds at most {MAX_TRACES_PER_EXPORT} traces; send the rest in another export"
            )
        elif spans + len(incoming) > MAX_SPANS_PER_EXPORT:
            reason = f"an export holds at most {MAX_SPANS_PER_EXPORT} spans; send the rest in another export"
        elif agents + trace_agents > MAX_AGENT_SPANS_PER_EXPORT:
            reason = (
                f"an export holds at most {MAX_AGENT_SPANS_PER_EXPORT} agent spans; "
                "send the rest in another export"
            )
        if reason:
            result.reject(reason, len(incoming))
            del by_trace[trace_id]
            continue
        spans, traces, agents = spans + len(incoming), traces + 1, agents + trace_agents


def _new_spans(before: TraceState, incoming: dict[str, SpanValues], result: Acceptance) -> list[SpanValues]:
    """The export's spans of one trace not stored yet, within the trace's bound (the rest rejected)."""
    new = [span for span_id, span in incoming.items() if span_id not in before.spans]
    room = max(0, MAX_SPANS_PER_TRACE - len(before.spans))
    if len(new) > room:
        result.reject(f"a trace keeps at most {MAX_SPANS_PER_TRACE} spans", len(new) - room)
        new = sorted(new, key=lambda span: (span.start_ns, span.span_id))[:room]
    return new


def not_understood(state: TraceState, before: TraceState, stored_now: set[str]) -> list[TraceItem]:
    """Spans of no LLM convention and below no execution: counted on the operations page, once each.

    A span is judged once, by the export that stores the later of it and its trace's root span (children
    usually arrive before their parents, so a span alone cannot yet tell whether an agent is above it).
    """
    roots_now = {span_id for span_id in stored_now if not state.spans[span_id].parent_span_id}
    if roots_now:
        judged = list(state.spans.values())  # the root just arrived: every span stored so far
    elif any(not span.parent_span_id for span in before.spans.values()):
        judged = [state.spans[span_id] for span_id in stored_now]  # the root came earlier
    else:
        return []  # judged when the root arrives
    executions = state.execution_span_ids()
    return [span for span in judged if not span.gen_ai and state.owner(span.span_id, executions) is None]


def run_for(state: TraceState, span_id: str, executions: set[str]) -> dict:
    """The run given to ingestion for an execution span (zero tokens and cost: its calls add theirs)."""
    agent = state.spans[span_id]
    calls = sorted(
        (
            span
            for span in state.spans.values()
            if span.kind == "model" and state.owner(span.span_id, executions) == span_id
        ),
        key=lambda span: (span.start_ns, span.span_id),
    )
    model = agent.model or next((call.model for call in calls if call.model), None) or "unknown"
    error = None
    if agent.failed:
        error = agent.error
        failing = next((call.error for call in calls if call.failed and call.error), None)
        if failing and (not error or error == GENERIC_ERROR):
            error = failing
    started, finished = _moment(int(agent.start_ns)), _moment(int(agent.end_ns))
    return {
        "execution_id": execution_id_for(agent.trace_id, span_id),
        "user_id": agent.user_id or next((call.user_id for call in calls if call.user_id), None) or "unknown",
        "model": model,
        "provider": next((call.provider for call in calls if call.provider), None),
        "status": "failed" if agent.failed else "succeeded",
        "started_at": iso_ms(started),
        "finished_at": iso_ms(finished),
        "duration_ms": min(round((int(agent.end_ns) - int(agent.start_ns)) / 1e6), MAX_DURATION_MS),
        "tokens_in": 0,
        "tokens_out": 0,
        "cost_micro_usd": 0,  # model calls add theirs, once each (module docstring, step 3)
        "input": agent.input or "",
        "output": agent.output or "",
        "error": error,
        **_dimensions(agent, calls, state),
    }


def _dimensions(agent: TraceItem, calls: list[TraceItem], state: TraceState) -> dict:
    """The run's environment, session, tags, metadata and flow: the agent span's, else its model
    calls', else any span's of the trace (instrumentations set them on the span they wrap, often the
    root or the calls only). Already cut to RunIn's limits by spans.py; absent ones are left out."""
    others = sorted(state.spans.values(), key=lambda span: (span.start_ns, span.span_id))
    found: dict = {}
    for name in ("environment", "session_id", "tags", "metadata", "flow_id"):
        for span in (agent, *calls, *others):
            value = getattr(span, name, None)
            if value:
                found[name] = (
                    json.loads(value) if name == "metadata" else list(value) if name == "tags" else value
                )
                break
    return found


def pin_item(tenant_id: str, agent: TraceItem, run: dict, recorded: bool = False) -> TraceItem:
    """The `exec#` item pinning the execution decided for an agent span."""
    return TraceItem(
        agent.pk,
        EXEC + agent.span_id,
        tenant_id=tenant_id,
        trace_id=agent.trace_id,
        span_id=agent.span_id,
        agent_id=agent.agent_id,
        execution_id=run["execution_id"],
        run=json.dumps(run),
        recorded=recorded,
        expires_at=agent.expires_at,
        content_expires_at=agent.content_expires_at,  # the run holds the agent span's input and output
    )


def count_marker(call: TraceItem, execution_id: str) -> TraceItem:
    """The `count#` item saying a model call's tokens and cost were added to that execution."""
    return TraceItem(
        call.pk,
        COUNT + call.span_id,
        tenant_id=call.tenant_id,
        trace_id=call.trace_id,
        span_id=call.span_id,
        execution_id=execution_id,
        tokens_in=call.tokens_in,
        tokens_out=call.tokens_out,
        **{name: getattr(call, name) for name in TOKEN_KINDS},
        model=call.model,
        provider=call.provider,
        start_ns=call.start_ns,
        cost_micro_usd=call.cost_micro_usd,
        price_source=call.price_source,
        price_ref=call.price_ref,
        expires_at=call.expires_at,
    )


def _pin(tenant_id: str, agent: TraceItem, run: dict) -> tuple[str, dict]:
    """The execution's (agent_id, run) as first decided for this span: ours, or an earlier writer's."""
    item = pin_item(tenant_id, agent, run)
    try:
        item.save(condition=TraceItem.sk.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        item = TraceItem.get(agent.pk, EXEC + agent.span_id, consistent_read=True)
    return item.agent_id, json.loads(item.run)


def reconcile(
    tenant_id: str, trace_id: str, state: TraceState, incoming: set[str], result: Acceptance
) -> None:
    """Record the trace's executions and count its model calls (idempotent; module docstring)."""
    now = clock.now()
    execution_ids = state.execution_span_ids()
    executions: dict[str, Execution] = {}
    for span_id in sorted(execution_ids):
        pinned = state.pinned.get(span_id)
        if pinned is not None:
            agent_id, run = pinned.agent_id, json.loads(pinned.run)
        else:
            agent = state.spans[span_id]
            agent_id, run = agent.agent_id, run_for(state, span_id, execution_ids)
            _, errors = services.build_execution(tenant_id, agent_id, run, now, from_trace=True)
            if errors:
                if span_id in incoming:
                    result.reject("agent span: " + "; ".join(f"{k}: {v}" for k, v in errors.items()))
                continue
            agent_id, run = _pin(tenant_id, agent, run)
        execution, errors = services.build_execution(tenant_id, agent_id, run, now, from_trace=True)
        if execution is None:
            continue  # pinned long ago and now past retention: nothing to add to
        if pinned is None or not pinned.recorded:
            try:
                services.write_execution(execution)  # idempotent: a repeat counts nothing
            except NotFound:
                if span_id in incoming:
                    result.reject(f"agent {agent_id} cannot be recorded with this key")
                continue
            # Later exports of the trace can skip the (then failing) recording transaction.
            TraceItem(trace_pk(tenant_id, trace_id), EXEC + span_id).update(
                actions=[TraceItem.recorded.set(True)]
            )
        executions[span_id] = execution
    pending: dict[str, list[TraceItem]] = defaultdict(list)
    for span_id, span in state.spans.items():
        if span.kind != "model" or span_id in state.counted:
            continue
        owner = state.owner(span_id, execution_ids)
        if owner in executions:
            pending[owner].append(span)
    for owner, calls in pending.items():
        chunk = count_chunk(executions[owner])
        for start in range(0, len(calls), chunk):
            _count(executions[owner], calls[start : start + chunk])


def count_chunk(execution: Execution) -> int:
    """Model calls counted per transaction for this execution (see TX_ITEMS)."""
    return TX_ITEMS - 1 - len(rollups.keys_for(execution))


def _count(execution: Execution, calls: list[TraceItem]) -> None:
    """Add the calls' tokens and cost to the execution and its rollups, each call at most once ever."""
    pending = list(calls)
    # a 503 at the end: OTLP exporters send the batch again later
    backoff = Backoff(
        MAX_ATTEMPTS, give_up=lambda: ServiceUnavailable("Too many concurrent writes to the same counters.")
    )
    while pending:
        tokens_in = sum(int(call.tokens_in) for call in pending)
        tokens_out = sum(int(call.tokens_out) for call in pending)
        kinds = {name: sum(int(getattr(call, name) or 0) for call in pending) for name in TOKEN_KINDS}
        cost = sum(int(call.cost_micro_usd) for call in pending)
        try:
            with transact_write() as tx:
                for call in pending:
                    marker = count_marker(call, execution.execution_id)
                    tx.save(marker, condition=TraceItem.sk.does_not_exist())
                tx.update(
                    execution,
                    actions=[
                        Execution.tokens_in.add(tokens_in),
                        Execution.tokens_out.add(tokens_out),
                        *(getattr(Execution, name).add(value) for name, value in kinds.items()),
                        Execution.cost_micro_usd.add(cost),
                    ],
                    # an execution of this tenant only: ids are the clients' own
                    condition=Execution.execution_id.exists() & (Execution.tenant_id == execution.tenant_id),
                )
                actions = [
                    ExecutionRollup.tokens_in.add(tokens_in),
                    ExecutionRollup.tokens_out.add(tokens_out),
                    ExecutionRollup.cost_micro_usd.add(cost),
                ]
                ranked = [*actions, ExecutionRollup.rank_cost.add(cost)]  # the index follows the cost
                for row_pk, row_sk in rollups.keys_for(execution, rollups.live_hours_from(clock.now())):
                    row_actions = ranked if rollups.is_ranked(row_pk) else actions
                    if rollups.is_hourly(row_pk):
                        expiry = ExecutionRollup.expires_at.set(rollups.hourly_expires_at(row_sk))
                        row_actions = [*actions, expiry]
                    tx.update(ExecutionRollup(row_pk, row_sk), actions=row_actions)
            return
        except TransactWriteError as exc:
            codes = cancellation_codes(exc)
            done = {i for i, code in enumerate(codes[: len(pending)]) if code == "ConditionalCheckFailed"}
            if done:  # counted by another export meanwhile: add only the others
                pending = [call for i, call in enumerate(pending) if i not in done]
                continue
            if len(codes) > len(pending) and codes[len(pending)] == "ConditionalCheckFailed":
                return  # the execution is not stored: nothing to add to (a later export retries)
            if not TRANSIENT & set(codes):
                raise
            backoff.wait(exc)
