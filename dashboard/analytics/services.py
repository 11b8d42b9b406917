"""Recording executions: validation, cost, and the writes that keep rollups equal to history.

An API batch (up to 25 runs; one OpenTelemetry execution is a batch of one) is written in two steps:
1. claim: one TransactWrite puts each execution and its id guard `tenant#execution#<id>` / `guard`,
   both on condition they do not exist, so the same id sent again (even with another agent or start
   time) is seen, not stored twice. The guards name the batch (a fresh id), and the same transaction
   puts the batch's marker `tenant#batch#<id>` / `batch`, listing its executions (`refs`);
2. count: the batch's increments, summed per distinct rollup row (one update per row for the whole
   batch, daily rows on a shard taken from the batch id; see rollups), land in parts of one
   TransactWrite each: a part marker `part-<n>` put on condition it does not exist, and for the last
   part the batch marker's `counted` set on condition it is not set. A batch of one tenant and day
   (the usual one) is a single part, so a batch costs two transactions: claim, count.
   The hourly rows (rollups: total, model, agent, user, environment and tags of each hour) are in the
   same parts: the marker keeps the first hour given them (`hours_from`), so every writer of a batch
   builds the same parts. They add 4 row updates to an execution's 12 (5 to 15 with an environment, one
   more a tag; a session and a template add 2 ranked rows each, rollups.GRAINS, and no hourly row); a batch
   adds one update per distinct row, so 25 runs of one agent, model and user in one hour add 4 updates
   to the batch's transaction, not 100, and 25 runs of 25 users add 25 + 3. The latency histogram
   (rollups) is one more attribute in updates already made: no row more.

Each part lands once, however many writers apply it, so an execution is counted exactly once. A run
whose guard names a batch not yet `counted` (a writer stopped between the steps) has that batch
counted by the next writer that sees it, from the stored executions its marker lists. Concurrent
writers on the same rows make DynamoDB cancel with `TransactionConflict`; those transactions are
retried with backoff (counted in `WriteStats`). Guards written before batch markers existed carry
their own `counted`, set in the transaction that counts them (`_count_each`).

Agent, user and execution ids are the clients' own names: every key that holds one carries the tenant
(`models.scoped_key`), so two tenants may both run a `support-bot` and neither can touch the other's.
"""

from __future__ import annotations

import collections
import hashlib
import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from pydantic import ValidationError
from pynamodb.exceptions import TransactWriteError, UpdateError

from dashboard.accounts import services as accounts
from dashboard.accounts.queries import get_tenant, metadata_dimensions_of, retention_of
from dashboard.analytics import compaction, events, pricing, rollups
from dashboard.analytics.inputs import (
    BATCH_LIMIT,
    METADATA_KEY_PATTERN,
    RATE_NAMES,
    PriceIn,
    RunIn,
    RunsIn,
    check_agent_id,
    is_valid_id,
    resolve_tenant,
    runs_of,
)
from dashboard.analytics.models import (
    EXECUTION_TTL_DAYS,
    Execution,
    ExecutionRollup,
    ModelPrice,
    PriceChange,
    TraceItem,
    scoped_key,
    session_key,
)
from dashboard.analytics.queries.traces import EXECUTION_ID, span_start, trace_pk
from dashboard.audit import services as audit
from dashboard.core import clock
from dashboard.core.clock import iso_ms, parse_iso
from dashboard.core.errors import Conflict, NotFound, ServiceUnavailable, ValidationFailed
from dashboard.core.ids import new_id
from dashboard.core.inputs import PATTERN_MESSAGES, error_fields, join_path, whole_or_float
from dashboard.core.scope import API, STAFF, TENANT_ADMIN, AccessScope, Can
from dashboard.dynamo.base import client_of, transact_write
from dashboard.dynamo.transactions import Backoff, batch_put, cancellation_codes, with_retries
from dashboard.flows.queries import source_templates

TEXT_LIMIT = 8_000  # characters kept of input and of output; longer text is cut and flagged
ERROR_LIMIT = 2_000  # characters kept of the error message
FUTURE_TOLERANCE = timedelta(minutes=5)  # clock skew allowed for started_at
MAX_ATTEMPTS = 8
MAX_DURATION = timedelta(hours=24)  # the same bound as RunIn.duration_ms


@dataclass
class Outcome:
    execution_id: str
    recorded: bool  # False: the id was already recorded (nothing counted again)
    cost_micro_usd: int
    started_at: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "execution_id": self.execution_id,
            "result": "recorded" if self.recorded else "already_recorded",
            "cost_micro_usd": self.cost_micro_usd,
            "started_at": self.started_at,
        }


def _truncate(text: str, limit: int) -> tuple[str, bool]:
    return (text[:limit], True) if len(text) > limit else (text, False)


def build_execution(
    tenant_id: str, agent_id: str, run: dict[str, Any], now: datetime, from_trace: bool = False
) -> tuple[Execution | None, dict]:
    """An unsaved Execution from a schema-valid run, or the field errors that stop it.

    Its cost is the client's when sent, else its tokens at the price in force for the tenant at its
    start (`pricing.quote`); a model with no price is recorded at $0 with source `none`, and the pages
    name it. An execution made from a trace (`from_trace`) starts at zero: its model calls add
    theirs, each priced on its own (dashboard.analytics.traces)."""
    errors: dict[str, str] = {}
    try:
        started = parse_iso(run["started_at"])
    except ValueError:
        return None, {"started_at": "Use an ISO-8601 time, e.g. 2025-11-26T09:30:00.000Z."}
    if started > now + FUTURE_TOLERANCE:
        return None, {"started_at": "This time is in the future."}
    if started <= now - timedelta(days=EXECUTION_TTL_DAYS):
        return None, {"started_at": f"Executions older than {EXECUTION_TTL_DAYS} days are not kept."}
    finished = None
    if run.get("finished_at"):
        try:
            finished = parse_iso(run["finished_at"])
        except ValueError:
            errors["finished_at"] = "Use an ISO-8601 time, e.g. 2025-11-26T09:30:02.500Z."
        else:
            if finished < started:
                errors["finished_at"] = "An execution cannot finish before it starts."
            elif finished - started > MAX_DURATION:
                errors["finished_at"] = "An execution lasts at most 24 hours: check this time."
    duration = run.get("duration_ms")
    if duration is None:
        if finished is None:
            errors.setdefault("duration_ms", "Send duration_ms or finished_at.")
        else:
            duration = round((finished - started).total_seconds() * 1000)
    if finished is None and duration is not None and "finished_at" not in errors:
        finished = started + timedelta(milliseconds=duration)
    usage = pricing.Usage(
        input=run.get("tokens_in", 0),
        output=run.get("tokens_out", 0),
        cache_read=run.get("tokens_cache_read", 0),
        cache_write=run.get("tokens_cache_write", 0),
        reasoning=run.get("tokens_reasoning", 0),
    ).normalized()
    if from_trace:
        price = pricing.Quote(0, "trace", None, None, None, None)
    elif run.get("cost_micro_usd") is not None:
        price = pricing.client_quote(run["cost_micro_usd"])
    else:
        price = pricing.quote(tenant_id, run["model"], usage, started, run.get("provider"))
    if errors:
        return None, errors
    text_in, cut_in = _truncate(run.get("input") or "", TEXT_LIMIT)
    text_out, cut_out = _truncate(run.get("output") or "", TEXT_LIMIT)
    error_text = run.get("error") or None
    started_at = iso_ms(started)
    execution = Execution(
        agent_key=scoped_key(tenant_id, agent_id),
        sk=f"{started_at}#{run['execution_id']}",
        agent_id=agent_id,
        execution_id=run["execution_id"],
        tenant_execution=scoped_key(tenant_id, run["execution_id"]),
        tenant_id=tenant_id,
        tenant_status=f"{tenant_id}#{run['status']}",
        user_id=run["user_id"],
        tenant_user=scoped_key(tenant_id, run["user_id"]),
        model=run["model"],
        status=run["status"],
        started_at=started_at,
        finished_at=iso_ms(finished) if finished else None,
        duration_ms=duration,
        input=text_in,
        output=text_out,
        truncated=cut_in or cut_out,
        tokens_in=usage.input,
        tokens_out=usage.output,
        tokens_cache_read=usage.cache_read,
        tokens_cache_write=usage.cache_write,
        tokens_reasoning=usage.reasoning,
        provider=run.get("provider") or price.provider,
        cost_micro_usd=price.cost_micro_usd,
        price_source=price.source,
        price_ref=price.ref,
        error=error_text[:ERROR_LIMIT] if error_text else None,
        environment=run.get("environment") or None,
        session_id=run.get("session_id") or None,
        session_key=session_key(tenant_id, run.get("session_id")),
        tags=list(run["tags"]) if run.get("tags") else None,
        metadata=dict(run["metadata"]) if run.get("metadata") else None,
        flow_id=run.get("flow_id") or None,
        **retention_stamps(tenant_id, started),
    )
    return execution, {}


def retention_stamps(tenant_id: str, started: datetime) -> dict[str, Any]:
    """The TTLs a new execution carries: the tenant's retention of executions and of their content."""
    kept = retention_of(tenant_id)
    return {
        "expires_at": started + timedelta(days=kept.executions_days),
        "content_expires_at": int((started + timedelta(days=kept.content_days)).timestamp()),
    }


def guard_key(tenant_id: str, execution_id: str) -> tuple[str, str]:
    return f"{tenant_id}#execution#{execution_id}", "guard"


def validate_run(
    tenant_id: str, agent_id: str, run: Any, now: datetime
) -> tuple[Execution | None, dict[str, str]]:
    """The API's rules for one run given as JSON (a line of an import): its shape (`inputs.RunIn`),
    then times, cost and texts. An Execution, or the field errors that stop it."""
    try:
        valid = RunIn.model_validate(run)
    except ValidationError as exc:
        return None, error_fields(exc)
    return build_execution(tenant_id, agent_id, valid.model_dump(exclude_unset=True), now)


def parse_import_line(tenant_id: str, text: str, now: datetime) -> tuple[Execution | None, dict[str, str]]:
    """One JSON Lines record: the API's run fields plus `agent_id`, checked with the API's rules."""
    try:
        record = json.loads(
            text, parse_float=whole_or_float
        )  # `2.0` is the whole number it says, as in the API
    except ValueError as exc:
        return None, {"line": f"Not JSON: {exc}"}
    if not isinstance(record, dict):
        return None, {"line": "Each line must be a JSON object."}
    run = dict(record)
    agent_id = run.pop("agent_id", None)
    if not isinstance(agent_id, str) or not is_valid_id(agent_id):
        return None, {"agent_id": "Use 1–128 letters, digits or . _ : @ / - (no spaces or #)."}
    return validate_run(tenant_id, agent_id, run, now)


def record_runs(scope: AccessScope, agent_id: str, body: RunsIn) -> list[Outcome]:
    """Check every run of the body (shape checked already: `inputs.RunsIn`) against the rules beyond
    its shape; nothing is written when any run is invalid; then record each."""
    scope.require_role(API)
    tenant_id = scope.require_tenant()
    check_agent_id(agent_id)
    runs, is_batch = runs_of(body)
    now = clock.now()
    executions: list[Execution] = []
    errors: dict[str, str] = {}
    for index, run in enumerate(runs):
        where = join_path("runs", index) if is_batch else ""
        execution, run_errors = build_execution(tenant_id, agent_id, run.model_dump(exclude_unset=True), now)
        if execution is not None:
            executions.append(execution)
        errors.update(
            {join_path(where, name) if where else name: message for name, message in run_errors.items()}
        )
    ids = [execution.execution_id for execution in executions]
    for index, execution_id in enumerate(ids):
        if execution_id in ids[:index]:
            errors[join_path(join_path("runs", index), "execution_id")] = (
                "This execution id appears twice in the batch."
            )
    if errors:
        invalid = len({name.split("]")[0] if is_batch else "0" for name in errors})
        raise ValidationFailed(
            f"{invalid} of {len(runs)} run(s) are invalid; nothing was recorded."
            if is_batch
            else "The run is invalid; nothing was recorded.",
            errors,
        )
    outcomes = write_batch(executions)
    if any(outcome.recorded for outcome in outcomes):
        events.recorded(tenant_id)  # alerts check the new figures (claims make concurrent checks fire once)
    return outcomes


TX_ITEMS = 100  # DynamoDB's TransactWriteItems limit
CLAIM_ITEMS = 2  # a claim puts, per execution in this order, the execution and its id guard
PERMANENT = {"ValidationError", "ItemCollectionSizeLimitExceeded"}  # anything else: retried


@dataclass
class WriteStats:
    """What recording cost, for the benchmarks: transactions, items written, retries after a conflict."""

    transactions: int = 0
    items: int = 0
    retries: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # Updates per counter row, when a benchmark asks (None: not kept): the hottest item's rate.
    row_updates: collections.Counter | None = None

    def add(
        self, transactions: int = 0, items: int = 0, retries: int = 0, rows: Iterable | None = None
    ) -> None:
        with self.lock:
            self.transactions += transactions
            self.items += items
            self.retries += retries
            if rows is not None and self.row_updates is not None:
                self.row_updates.update(rows)


STATS = WriteStats()


def _outcome(execution: Execution, recorded: bool) -> Outcome:
    return Outcome(execution.execution_id, recorded, int(execution.cost_micro_usd), execution.started_at)


def guard_item(execution: Execution, batch: str | None = None) -> ExecutionRollup:
    """The id guard of an execution; one naming its batch is counted by that batch's marker, and
    says `counted` so writers that count guard by guard (older versions) leave it alone."""
    return ExecutionRollup(
        *guard_key(execution.tenant_id, execution.execution_id),
        tenant_id=execution.tenant_id,
        ref=f"{execution.agent_key}|{execution.sk}",
        batch=batch,
        counted=True if batch else None,
    )


def _backoff() -> Backoff:
    """Counter clashes: retried (counted in STATS), then a 503 the client can retry later."""
    return Backoff(
        MAX_ATTEMPTS,
        give_up=lambda: ServiceUnavailable(
            "Too many concurrent writes to the same counters; try again shortly."
        ),
        on_wait=lambda: STATS.add(retries=1),
    )


def write_execution(execution: Execution) -> Outcome:
    """One execution (OpenTelemetry, tests): a batch of one."""
    return write_batch([execution])[0]


def write_batch(executions: list[Execution]) -> list[Outcome]:
    """Record valid executions of one tenant (distinct ids): the two steps of the module docstring."""
    if len(executions) > BATCH_LIMIT:
        return [outcome for start in range(0, len(executions), BATCH_LIMIT)
                for outcome in write_batch(executions[start : start + BATCH_LIMIT])]  # fmt: skip
    if not executions:
        return []
    stamp_templates(executions)
    stamp_counted_keys(executions)
    batch = uuid.uuid4().hex
    hours_from = rollups.live_hours_from(clock.now())
    claimed, seen = _claim(executions, batch, hours_from)
    if claimed:
        _count_batch(executions[0].tenant_id, batch, claimed, hours_from)
    finished = _resume(seen)
    recorded = {execution.execution_id for execution in claimed} | finished
    return [_outcome(execution, execution.execution_id in recorded) for execution in executions]


TEMPLATE_CACHE_SECONDS = 60.0  # a flow's template never changes; a new flow is seen within a minute
TEMPLATE_CACHE_SIZE = 10_000  # (tenant, flow) pairs a process keeps
_template_cache: dict[tuple[str, str], tuple[float, str | None]] = {}
_template_lock = threading.Lock()


def stamp_templates(executions: list[Execution]) -> None:
    """Set each execution's `template_id`: the marketplace template its flow (of its own tenant) came
    from, looked up through the flows area (one BatchGetItem for the flows not cached) and kept per
    process for TEMPLATE_CACHE_SECONDS. Stamped on the stored execution before it is counted, so every
    writer that counts it (a resume, a re-pricing, a trace's calls) adds to the same template row."""
    wanted = {(e.tenant_id, e.flow_id) for e in executions if e.flow_id and not e.template_id}
    if not wanted:
        return
    now = time.monotonic()
    with _template_lock:
        known = {key: hit[1] for key in wanted if (hit := _template_cache.get(key)) and hit[0] > now}
    missing = wanted - set(known)
    for tenant_id in {tenant for tenant, _ in missing}:
        flow_ids = {flow for tenant, flow in missing if tenant == tenant_id}
        found = source_templates(tenant_id, flow_ids)
        for flow_id in flow_ids:
            known[(tenant_id, flow_id)] = found.get(flow_id)
    with _template_lock:
        if len(_template_cache) + len(missing) > TEMPLATE_CACHE_SIZE:  # flow ids are the clients': bounded
            _template_cache.clear()
        for key in missing:
            _template_cache[key] = (now + TEMPLATE_CACHE_SECONDS, known[key])
    for execution in executions:
        if execution.flow_id and not execution.template_id:
            execution.template_id = known.get((execution.tenant_id, execution.flow_id))


def _after_settled_days(tenant_id: str, executions: list[Execution]) -> None:
    """Executions of a day before today change figures a digest holds: rebuilt at the next pass
    (dashboard.analytics.compaction); until then the pages read that range's buckets."""
    today = clock.now().date().isoformat()
    if any(rollups.day_of(execution.started_at) < today for execution in executions):
        compaction.mark_dirty(tenant_id)


def _batch_marker(tenant_id: str, batch: str) -> tuple[str, str]:
    return f"{tenant_id}#batch#{batch}", "batch"


def _claim(
    executions: list[Execution], batch: str, hours_from: str | None = None
) -> tuple[list[Execution], list[Execution]]:
    """Step 1: (newly stored, already seen). Items of a refused id are taken out and the rest retried.
    The batch's marker keeps `hours_from` (by default the hours kept now)."""
    hours_from = hours_from or rollups.live_hours_from(clock.now())
    pending = list(executions)
    seen: list[Execution] = []
    backoff = _backoff()
    tenant_id = executions[0].tenant_id
    while pending:
        try:
            with transact_write() as tx:
                for execution in pending:
                    tx.save(execution, condition=Execution.agent_key.does_not_exist())
                    tx.save(guard_item(execution, batch), condition=ExecutionRollup.pk.does_not_exist())
                tx.save(  # last: the positions above stay CLAIM_ITEMS per execution
                    ExecutionRollup(
                        *_batch_marker(tenant_id, batch),
                        tenant_id=tenant_id,
                        refs=[f"{execution.agent_key}|{execution.sk}" for execution in pending],
                        hours_from=hours_from,
                    )
                )
            STATS.add(transactions=1, items=CLAIM_ITEMS * len(pending) + 1)
            return pending, seen
        except TransactWriteError as exc:
            codes = cancellation_codes(exc)
            refused = {
                index // CLAIM_ITEMS
                for index, code in enumerate(codes[: CLAIM_ITEMS * len(pending)])
                if code == "ConditionalCheckFailed"
            }
            if refused:
                seen += [pending[index] for index in sorted(refused)]
                pending = [execution for index, execution in enumerate(pending) if index not in refused]
                continue
            if PERMANENT & set(codes):
                raise
            backoff.wait(exc)
    return [], seen


def _count_batch(tenant_id: str, batch: str, executions: list[Execution], hours_from: str) -> bool:
    """Step 2 for one batch: its increments summed per row, in parts; whether this call landed the
    last part (the one that marks the batch counted). Every writer that runs it for the same batch
    builds the same parts (the same executions, the shard taken from the batch id, the hours from
    the marker's `hours_from`), and each part lands once, so any of them may finish a batch another
    stopped in."""
    sums = rollups.Increments(shard=int(batch[:8], 16) % rollups.SHARDS, hours_from=hours_from)
    for execution in executions:
        sums.add(execution)
    finished = _apply_parts(_batch_marker(tenant_id, batch), sums)
    _after_settled_days(tenant_id, executions)
    return finished


def _resume(seen: list[Execution]) -> set[str]:
    """Of the executions whose id was already stored: count those whose batch was not counted yet
    (a writer stopped between the steps); the ids this call finished."""
    if not seen:
        return set()
    keys = [guard_key(execution.tenant_id, execution.execution_id) for execution in seen]
    guards = list(ExecutionRollup.batch_get(keys, consistent_read=True))
    finished: set[str] = set()
    batches = {guard.batch for guard in guards if guard.batch}
    if batches:
        tenant_id = seen[0].tenant_id
        for marker in ExecutionRollup.batch_get(
            [_batch_marker(tenant_id, batch) for batch in sorted(batches)], consistent_read=True
        ):
            if marker.counted or not marker.refs:
                continue
            batch = marker.pk.rsplit("#", 1)[1]
            refs = [tuple(ref.split("|", 1)) for ref in marker.refs]
            stored = list(Execution.batch_get(refs, consistent_read=True))
            # A marker from before hourly rows: its parts were built without them, and still are.
            if _count_batch(tenant_id, batch, stored, marker.hours_from or rollups.NO_HOURS):
                finished |= {execution.execution_id for execution in stored}
    # Guards written before batches had markers: counted one by one (each guard's `counted`).
    legacy = [guard for guard in guards if not guard.batch and not guard.counted and guard.ref]
    if legacy:
        refs = [tuple(guard.ref.split("|", 1)) for guard in legacy]
        finished |= _count_each(list(Execution.batch_get(refs, consistent_read=True)))
    return finished & {execution.execution_id for execution in seen}


def _groups(executions: list[Execution]) -> list[list[Execution]]:
    """Executions packed so each group's guards + distinct rows fit in one transaction."""
    groups: list[list[Execution]] = []
    group: list[Execution] = []
    keys: set[tuple[str, str]] = set()
    hours_from = rollups.live_hours_from(clock.now())
    for execution in executions:
        mine = set(rollups.keys_for(execution, hours_from))
        if group and len(group) + 1 + len(keys | mine) > TX_ITEMS:
            groups.append(group)
            group, keys = [], set()
        group.append(execution)
        keys |= mine
    if group:
        groups.append(group)
    return groups


def _row_actions(row_pk: str, row_sk: str, values: dict[str, int]) -> list:
    """Add to a counter row; a daily `total` row also says when it was last written, which tells
    readers whether a bucket has settled (analytics.queries, kept first pages); an hourly row when
    it goes."""
    actions = [  # a template row's `tenants` is a set: ADD unions it
        getattr(ExecutionRollup, name).add(set(value) if isinstance(value, frozenset) else value)
        for name, value in values.items()
    ]
    if rollups.is_total(row_pk):
        actions.append(ExecutionRollup.last_write.set(int(time.time())))
    if rollups.is_hourly(row_pk):
        actions.append(ExecutionRollup.expires_at.set(rollups.hourly_expires_at(row_sk)))
    return actions


def _count_each(executions: list[Execution]) -> set[str]:
    """Count executions by their own guards' `counted` (guards from before batch markers)."""
    counted: set[str] = set()
    for group in _groups(executions):
        counted |= _count_group(group)
    return counted


def _count_group(group: list[Execution]) -> set[str]:
    pending = list(group)
    backoff = _backoff()
    while pending:
        # One transaction with the guards' `counted`: all or nothing, so the hours may be taken now.
        sums = rollups.Increments(hours_from=rollups.live_hours_from(clock.now()))
        for execution in pending:
            sums.add(execution)
        try:
            with transact_write() as tx:
                for execution in pending:
                    tx.update(
                        ExecutionRollup(*guard_key(execution.tenant_id, execution.execution_id)),
                        actions=[ExecutionRollup.counted.set(True)],
                        condition=ExecutionRollup.pk.exists() & ExecutionRollup.counted.does_not_exist(),
                    )
                for (row_pk, row_sk), values in sums.rows.items():
                    tx.update(ExecutionRollup(row_pk, row_sk), actions=_row_actions(row_pk, row_sk, values))
            STATS.add(transactions=1, items=len(pending) + len(sums), rows=list(sums.rows))
            return {execution.execution_id for execution in pending}
        except TransactWriteError as exc:
            codes = cancellation_codes(exc)
            done = {
                index for index, code in enumerate(codes[: len(pending)]) if code == "ConditionalCheckFailed"
            }
            if done:  # counted by another writer meanwhile
                pending = [execution for index, execution in enumerate(pending) if index not in done]
                continue
            if PERMANENT & set(codes):
                raise
            backoff.wait(exc)
    return set()


# --- bulk import: the same rules, counted a window of many chunks at a time ---------------------
#
# `import_stream` reads the file in chunks (IMPORT_CHUNK executions, in file order; the chunk's id
# is a digest of its executions) and counts them in windows (consecutive chunks, as many as keep
# WINDOW_ROWS distinct counter rows in memory): a counter row is updated once per window, not once
# per chunk, so a day-ordered file updates each user-day, -week and -month row about once.
# 1. store a chunk: read its id guards and its `stored` marker (batch reads). An id whose guard
#    names another chunk or an API batch is skipped (recorded elsewhere); the rest are claimed: each
#    guard put (`counted`, `chunk`, `hours_from`) on condition it does not exist or names this
#    chunk, in transactions of 100, so of the API and any number of importers exactly one owns an id
#    (a refused guard: skipped). Then the executions owned are put, then `tenant#import#<chunk>` /
#    `stored`: a rerun reads the guards again (which ids this chunk owns) but writes nothing more.
# 2. count a window once all its chunks are stored: the owned executions' increments summed per row
#    (`rollups.Increments`, hourly rows from the chunks' `hours_from`), in transactions of up to 99
#    ADD updates + a part marker `tenant#import#<window>` / `part-<n>` put on condition it does not
#    exist, the window's id a digest of its chunks' ids: a part lands once however often, or by
#    however many importers, it is applied. Parts run side by side, the daily `total` rows' parts
#    only once every other part has landed (analytics.queries, kept first pages); then `done`.
# A rerun (or a second importer of the same file) builds the same chunks, owns the same ids (the
# guards say so), so closes the same windows with the same rows: a window already `done` is skipped,
# a half-counted one gets only its missing parts. Chunks of the older protocol, counted chunk by
# chunk (`done` or `part-0` under the chunk's id), are finished by `import_chunk` and not counted
# again. Memory: two windows' row sums and (threads + 1) chunks in flight, whatever the file's size.

IMPORT_CHUNK = 2_500  # a quarter of a benchmark day; in flight: (threads + 1) chunks, ~3 KB an execution
# Distinct counter rows (hourly ones aside) a window sums before it is counted, about 0.4 KB each in
# memory, two windows at most (one filling, one being written): a flat 90-day file of 60,000
# executions (300 agents, 5,000 users) is seven windows, 2.8 counter rows an execution (3.4 a chunk
# at a time; 2.45 if the whole file were one window); a Pareto-shaped one 0.64 (0.84; 0.62).
WINDOW_ROWS = 25_000


@dataclass
class ImportStats:
    recorded: int = 0
    skipped: int = 0  # already recorded
    writes: int = 0  # items written (executions, guards, counter rows, markers)
    packing_seconds: float = 0.0  # the tenants' digests built once the file was in


def chunk_id(executions: list[Execution]) -> str:
    digest = hashlib.sha256()
    for execution in executions:
        digest.update(f"{execution.agent_key}|{execution.sk}\n".encode())
    return digest.hexdigest()[:24]


def import_guard(execution: Execution, chunk: str, hours_from: str) -> ExecutionRollup:
    """The id guard of an imported execution: counted by its chunk (or that chunk's window)."""
    return ExecutionRollup(
        *guard_key(execution.tenant_id, execution.execution_id),
        tenant_id=execution.tenant_id,
        ref=f"{execution.agent_key}|{execution.sk}",
        counted=True,
        chunk=chunk,
        hours_from=hours_from,
    )


def import_chunk(executions: list[Execution]) -> ImportStats:
    """Write and count one chunk of valid executions of one tenant (distinct ids) on its own, as the
    demo seed does beside its trace items: read the guards (ids recorded elsewhere skipped, those of
    this chunk kept), batch-put the executions and guards, then the chunk's rows in parts under
    `tenant#import#<chunk>` and `done`. Not beside a live writer of the same ids (guards put
    unconditionally); `import_stream` is."""
    stats = ImportStats()
    if not executions:
        return stats
    tenant_id = executions[0].tenant_id
    chunk = chunk_id(executions)
    keys = [guard_key(tenant_id, execution.execution_id) for execution in executions]
    done_key = (f"{tenant_id}#import#{chunk}", "done")
    guards = {(guard.pk, guard.sk): guard for guard in ExecutionRollup.batch_get([*keys, done_key])}
    if done_key in guards:  # this very chunk was imported to the end before
        stats.skipped = len(executions)
        return stats
    fresh: list[Execution] = []
    hours_from = None
    for key, execution in zip(keys, executions, strict=True):
        guard = guards.get(key)
        if guard is None or guard.chunk == chunk:
            fresh.append(execution)
            if guard is not None and hours_from is None:  # a rerun: the hours the first run took
                hours_from = guard.hours_from or rollups.NO_HOURS
        else:
            stats.skipped += 1
    if hours_from is None:
        hours_from = rollups.live_hours_from(clock.now())
    new_guards = [import_guard(execution, chunk, hours_from) for execution in fresh]
    stamp_templates(fresh)
    stamp_counted_keys(fresh)
    batch_put(Execution, fresh)
    batch_put(ExecutionRollup, new_guards)
    # A fixed shard per chunk: the same rows on a rerun, so the parts below are the same parts.
    sums = rollups.Increments(shard=int(chunk, 16) % rollups.SHARDS, hours_from=hours_from)
    for execution in fresh:
        sums.add(execution)
    parts = _parts(sums)
    for number, part in enumerate(parts):
        _apply_part(part, (f"{tenant_id}#import#{chunk}", f"part-{number}"))
    ExecutionRollup(*done_key, count=len(fresh)).save()
    stats.recorded = len(fresh)
    stats.writes = 2 * len(fresh) + len(sums) + len(parts) + 1
    return stats


def _parts(sums: rollups.Increments) -> list[list]:
    """The rows of a batch or chunk in parts of one transaction each (one item left for its marker).
    The `total` rows go last: when a day's count has grown, every other row is in, so a reader's kept
    first page is never taken for a half-written batch (analytics.queries, kept first pages)."""
    return _slices(sorted(sums.rows.items(), key=lambda row: (rollups.is_total(row[0][0]), row[0])))


def _slices(rows: list) -> list[list]:
    """Rows in parts of one transaction each, one item left for the part's marker."""
    size = TX_ITEMS - 1
    return [rows[start : start + size] for start in range(0, len(rows), size)]


def _apply_parts(marker: tuple[str, str], sums: rollups.Increments) -> bool:
    """A batch's parts in order, the last one with the update that marks the batch counted: whether
    this call landed that last part. Whoever lands the last part has seen every earlier one land."""
    *first, last = _parts(sums)
    for number, part in enumerate(first):
        _apply_part(part, (marker[0], f"part-{number}"))
    return _apply_part(last, marker, finish=True)


def _apply_part(rows: list, marker: tuple[str, str], finish: bool = False) -> bool:
    """Add one part's rows with its marker, on condition the marker says it has not landed: a part
    marker put once (`part-<n>`), or (`finish`) the batch marker's `counted` set once. Whether this
    call landed it (False: it landed before, a rerun or another writer).

    Built as plain TransactWriteItems requests: a part is up to 99 counter updates, and building them
    as PynamoDB update expressions cost the importer more processor time than DynamoDB took."""
    table = ExecutionRollup.Meta.table_name
    key = {"pk": {"S": marker[0]}, "sk": {"S": marker[1]}}
    if finish:
        first = {"Update": {
            "TableName": table, "Key": key, "UpdateExpression": "SET #d = :true REMOVE #r",
            "ConditionExpression": "attribute_not_exists(#d)",
            "ExpressionAttributeNames": {"#d": "counted", "#r": "refs"},
            "ExpressionAttributeValues": {":true": {"BOOL": True}},
        }}  # fmt: skip
    else:
        first = {"Put": {"TableName": table, "Item": key, "ConditionExpression": "attribute_not_exists(pk)"}}
    now = str(int(time.time()))
    actions = [first] + [_row_update(table, row_pk, row_sk, values, now) for (row_pk, row_sk), values in rows]
    client = client_of(ExecutionRollup)
    backoff = _backoff()
    while True:
        try:
            client.transact_write_items(TransactItems=actions)
            STATS.add(transactions=1, items=len(rows) + 1, rows=[key for key, _ in rows])
            return True
        except ClientError as exc:
            reasons = [reason.get("Code") for reason in exc.response.get("CancellationReasons") or []]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                return False
            code = exc.response.get("Error", {}).get("Code")
            if PERMANENT & set(reasons) or code not in RETRIED_CODES:
                raise
            backoff.wait(exc)


# What a part's transaction may meet and try again: another writer on the same rows, or throttling.
RETRIED_CODES = {"TransactionCanceledException", "TransactionConflictException", "ThrottlingException",
                 "ProvisionedThroughputExceededException", "RequestLimitExceeded", "InternalServerError"}  # fmt: skip


def _row_update(table: str, row_pk: str, row_sk: str, values: dict[str, int], now: str) -> dict:
    """One counter row's ADDs (and a daily `total` row's `last_write`, an hourly row's `expires_at`,
    as `_row_actions`)."""
    names = {f"#a{n}": name for n, name in enumerate(values)}
    numbers = {  # numbers, and a template row's `tenants` string set (ADD unions a set)
        f":a{n}": {"SS": sorted(value)} if isinstance(value, frozenset) else {"N": str(value)}
        for n, value in enumerate(values.values())
    }
    expression = "ADD " + ", ".join(f"#a{n} :a{n}" for n in range(len(values)))
    if rollups.is_total(row_pk):
        names["#w"] = "last_write"
        numbers[":w"] = {"N": now}
        expression += " SET #w = :w"
    elif rollups.is_hourly(row_pk):
        names["#e"] = "expires_at"
        numbers[":e"] = {"N": str(rollups.hourly_expiry(row_sk))}
        expression += " SET #e = :e"
    return {"Update": {
        "TableName": table, "Key": {"pk": {"S": row_pk}, "sk": {"S": row_sk}}, "UpdateExpression": expression,
        "ExpressionAttributeNames": names, "ExpressionAttributeValues": numbers,
    }}  # fmt: skip


@dataclass
class _Stored:
    """A chunk once stored: its id, the executions it owns (to count) and the hours they take."""

    chunk: str
    owned: list[Execution]
    hours_from: str
    skipped: int = 0
    writes: int = 0
    recorded: int = 0  # a chunk of the older protocol, finished and counted on its own


def _store_chunk(executions: list[Execution], hours_from: str) -> _Stored:
    """Step 1 of the protocol above for one chunk (valid executions of one tenant, distinct ids)."""
    tenant_id = executions[0].tenant_id
    chunk = chunk_id(executions)
    marker = f"{tenant_id}#import#{chunk}"
    keys = [guard_key(tenant_id, execution.execution_id) for execution in executions]
    stored_key, *older = (marker, "stored"), (marker, "done"), (marker, "part-0")
    found = {(item.pk, item.sk): item for item in ExecutionRollup.batch_get([*keys, stored_key, *older])}
    if any(key in found for key in older):  # begun a chunk at a time (older protocol): finished so
        stats = import_chunk(executions)
        return _Stored(chunk, [], hours_from, stats.skipped, stats.writes, stats.recorded)
    owned: list[Execution] = []
    unclaimed: list[Execution] = []
    skipped = 0
    for key, execution in zip(keys, executions, strict=True):
        guard = found.get(key)
        if guard is None:
            unclaimed.append(execution)
        elif guard.chunk == chunk:
            owned.append(execution)
            hours_from = guard.hours_from or rollups.NO_HOURS  # a rerun: the hours the first run took
        else:
            skipped += 1
    claimed = _claim_guards(chunk, unclaimed, hours_from) if unclaimed else []
    owned += claimed
    skipped += len(unclaimed) - len(claimed)
    stamp_templates(owned)  # before counting: the same template and metadata rows as any other writer
    stamp_counted_keys(owned)
    writes = len(unclaimed)
    if stored_key not in found:
        batch_put(Execution, owned)
        ExecutionRollup(*stored_key, tenant_id=tenant_id, count=len(owned)).save()
        writes += len(owned) + 1
    return _Stored(chunk, owned, hours_from, skipped, writes)


def _claim_guards(chunk: str, executions: list[Execution], hours_from: str) -> list[Execution]:
    """Put the executions' guards naming `chunk`, each on condition it is absent or already names
    it, in transactions of TX_ITEMS; the executions whose guard this chunk now holds."""
    table = ExecutionRollup.Meta.table_name
    client = client_of(ExecutionRollup)
    condition = {
        "ConditionExpression": "attribute_not_exists(pk) OR #c = :c",
        "ExpressionAttributeNames": {"#c": "chunk"},
        "ExpressionAttributeValues": {":c": {"S": chunk}},
    }
    # The chunk's guards differ only in key and `ref`: one serialized by the model, the rest copied
    # from it (building a model item per guard cost the importer more processor time than its rows).
    model = import_guard(executions[0], chunk, hours_from).serialize()

    def put(execution: Execution) -> dict:
        item = {**model, "ref": {"S": f"{execution.agent_key}|{execution.sk}"}}
        item["pk"] = {"S": guard_key(execution.tenant_id, execution.execution_id)[0]}
        return {"Put": {"TableName": table, "Item": item, **condition}}

    owned: list[Execution] = []
    for start in range(0, len(executions), TX_ITEMS):
        pending = [(execution, put(execution)) for execution in executions[start : start + TX_ITEMS]]
        backoff = _backoff()
        while pending:
            try:
                client.transact_write_items(TransactItems=[action for _, action in pending])
                STATS.add(transactions=1, items=len(pending))
                owned += [execution for execution, _ in pending]
                break
            except ClientError as exc:
                reasons = [reason.get("Code") for reason in exc.response.get("CancellationReasons") or []]
                refused = {index for index, code in enumerate(reasons) if code == "ConditionalCheckFailed"}
                if refused:  # recorded by the API or another file meanwhile: skipped
                    pending = [action for index, action in enumerate(pending) if index not in refused]
                    continue
                code = exc.response.get("Error", {}).get("Code")
                if PERMANENT & set(reasons) or code not in RETRIED_CODES:
                    raise
                backoff.wait(exc)
    return owned


class _Window:
    """Consecutive stored chunks whose owned executions are summed per row, to be counted at once."""

    def __init__(self, first_chunk: str) -> None:
        self.chunks: list[str] = []
        # A fixed shard per window (from its first chunk): the same rows on a rerun.
        self.sums = rollups.Increments(shard=int(first_chunk, 16) % rollups.SHARDS)
        self.executions = 0
        self.tenant_id: str | None = None

    def add(self, stored: _Stored) -> None:
        self.chunks.append(stored.chunk)
        self.sums.hours_from = stored.hours_from
        for execution in stored.owned:
            self.tenant_id = execution.tenant_id
            self.sums.add(execution)
        self.executions += len(stored.owned)

    def is_full(self, limit: int) -> bool:
        """At `limit` rows, hourly ones aside: those depend on when an import ran, and a rerun must
        close the same windows."""
        rows = self.sums.rows
        return len(rows) >= limit and sum(not rollups.is_hourly(key[0]) for key in rows) >= limit

    def id(self) -> str:
        return hashlib.sha256("|".join(self.chunks).encode()).hexdigest()[:24]


def _count_window(window: _Window, threads: int) -> tuple[bool, int]:
    """Step 2: the window's rows in parts, side by side, the daily `total` rows' parts after every
    other part landed, then `done`. (Whether it was `done` before, items written.)"""
    marker = f"{window.tenant_id}#import#{window.id()}"
    done = (marker, "done")
    if any(True for _ in ExecutionRollup.batch_get([done], consistent_read=True)):
        return True, 0
    rows = sorted(window.sums.rows.items())
    stages = [
        _slices([row for row in rows if not rollups.is_total(row[0][0])]),
        _slices([row for row in rows if rollups.is_total(row[0][0])]),
    ]
    numbered = [[(number, part) for number, part in enumerate(stages[0])],
                [(len(stages[0]) + number, part) for number, part in enumerate(stages[1])]]  # fmt: skip
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for stage in numbered:
            list(pool.map(lambda part: _apply_part(part[1], (marker, f"part-{part[0]}")), stage))
    ExecutionRollup(*done, tenant_id=window.tenant_id, count=window.executions).save()
    return False, len(rows) + len(stages[0]) + len(stages[1]) + 1


def import_stream(
    executions: Iterable[Execution],
    threads: int = 4,
    on_chunk: Callable[[ImportStats], None] | None = None,
    chunk_size: int = IMPORT_CHUNK,
    window_rows: int = WINDOW_ROWS,
) -> ImportStats:
    """Import valid executions of one tenant from a stream: chunks stored `threads` at a time,
    counted a window at a time while the next window's chunks are stored (the protocol above).

    An id met twice in the stream counts once: twice in a chunk, the first is kept; in two chunks,
    the chunk whose guard lands first owns it. Memory: one window's row sums, one window being
    counted and (threads + 1) chunks, however long the file.
    """
    total = ImportStats()
    tenants: set[str] = set()
    hours_from = rollups.live_hours_from(clock.now())
    window: _Window | None = None
    counting: tuple[Future, _Window] | None = None

    def counted() -> None:
        nonlocal counting
        if counting is not None:
            future, counted_window = counting
            before, writes = future.result()
            total.writes += writes
            if before:  # counted by an earlier run, or another importer of the same file
                total.recorded -= counted_window.executions
                total.skipped += counted_window.executions
            counting = None

    def close() -> None:
        nonlocal window, counting
        counted()
        if window is not None and window.sums.rows:
            counting = (counter.submit(_count_window, window, threads), window)
        window = None

    def fold(stored: _Stored) -> None:  # in file order: the same windows on every run
        nonlocal window
        total.recorded += len(stored.owned) + stored.recorded
        total.skipped += stored.skipped
        total.writes += stored.writes
        if on_chunk:
            on_chunk(ImportStats(len(stored.owned) + stored.recorded, stored.skipped, stored.writes))
        if window is None:
            window = _Window(stored.chunk)
        window.add(stored)
        if window.is_full(window_rows):
            close()

    with ThreadPoolExecutor(max_workers=threads) as pool, ThreadPoolExecutor(max_workers=1) as counter:
        in_flight: collections.deque[Future] = collections.deque()
        chunk: list[Execution] = []
        ids: set[str] = set()
        for execution in itertools.chain(executions, [None]):
            if execution is not None:
                tenants.add(execution.tenant_id)
                if execution.execution_id in ids:
                    total.skipped += 1
                    continue
                ids.add(execution.execution_id)
                chunk.append(execution)
            if chunk and (execution is None or len(chunk) == chunk_size):
                in_flight.append(pool.submit(_store_chunk, chunk, hours_from))
                chunk, ids = [], set()
                while len(in_flight) > threads:  # back-pressure: memory stays flat (one chunk queued)
                    fold(in_flight.popleft().result())
        while in_flight:
            fold(in_flight.popleft().result())
        close()
        counted()
    if total.recorded and tenants:
        for tenant_id in tenants:
            # Once the whole import is in: its settled days packed for the pages, then alerts check
            # the new figures.
            total.packing_seconds += compaction.rebuild(tenant_id).seconds
            events.recorded(tenant_id)
    return total


# --- monthly budgets: set (versioned, audited) ----------------------------------------------

MAX_BUDGET_MICRO_USD = 10**15  # one billion dollars


def set_budget(
    scope: AccessScope, tenant_id: str | None, budget_micro_usd: int | None, expected_version: int | None
):
    """Set (or clear, with None) the tenant's monthly budget; the loser of a race gets Conflict."""
    scope.require_role(STAFF, TENANT_ADMIN)
    tenant_id = resolve_tenant(scope, tenant_id)
    if tenant_id is None:
        scope.require_tenant()
    if budget_micro_usd is not None and not 0 < budget_micro_usd <= MAX_BUDGET_MICRO_USD:
        raise ValidationFailed(
            "The budget is not valid.", {"budget": "Enter an amount above $0 (leave empty for no budget)."}
        )
    return accounts.set_monthly_budget(scope, tenant_id, budget_micro_usd, expected_version)


def set_metadata_dimensions(
    scope: AccessScope, tenant_id: str | None, keys: list[str], expected_version: int | None
):
    """Choose the metadata keys (at most 5) counted as overview dimensions from now on: executions
    recorded after this (within accounts.queries.RETENTION_CACHE_SECONDS) add to their rows."""
    scope.require_role(STAFF, TENANT_ADMIN)
    tenant_id = resolve_tenant(scope, tenant_id)
    if tenant_id is None:
        scope.require_tenant()
    keys = list(dict.fromkeys(key.strip() for key in keys if key.strip()))
    message = None
    if len(keys) > rollups.MAX_METADATA_DIMENSIONS:
        message = f"Choose at most {rollups.MAX_METADATA_DIMENSIONS} keys."
    elif any(not re.fullmatch(METADATA_KEY_PATTERN, key) for key in keys):
        message = PATTERN_MESSAGES[METADATA_KEY_PATTERN]
    if message:
        raise ValidationFailed("The metadata keys were not saved.", {"metadata_dimensions": message})
    return accounts.set_metadata_dimensions(scope, tenant_id, keys, expected_version)


def stamp_counted_keys(executions: list[Execution]) -> None:
    """Set each execution's `counted_keys`: its tenant's metadata dimensions now (a cached read shared
    with the retention stamps), before it is counted, so every writer adds to the same rows."""
    for execution in executions:
        if execution.counted_keys is None:
            execution.counted_keys = list(metadata_dimensions_of(execution.tenant_id)) or None


# --- staff prices: set, change, retire (versioned, audited) -----------------------------------


def _price_fields(price: ModelPrice) -> dict[str, Any]:
    return {
        "model": price.model,
        "provider": price.provider,
        "effective_from": price.effective_from,
        **{name: getattr(price, name) for name in RATE_NAMES},
        "retired": price.retired,
    }


def save_price(
    scope: AccessScope, value: PriceIn, price_id: str | None = None, expected_version: int | None = None
) -> ModelPrice:
    """Add a staff price, or change one (`price_id` with the version the editor saw).

    A price that applies to days already past also marks those days as priced differently from their
    figures (`PriceChange` `pending`), in the same transaction, until a re-pricing covers them."""
    scope.require(Can.MANAGE_PRICES)
    price_scope = value.tenant_id or pricing.EVERY_TENANT
    if value.tenant_id:
        get_tenant(value.tenant_id)  # NotFound for a tenant that does not exist
    now = clock.now()
    if price_id is None:
        price_id = new_id("price")
        price = ModelPrice(*ModelPrice.key_of(price_scope, price_id), scope=price_scope, price_id=price_id)
        before: dict[str, Any] = {}
    else:
        price = _get_price(price_scope, price_id)
        if expected_version is not None and price.version != expected_version:
            raise Conflict("Someone changed this price meanwhile; nothing was saved. Look at it again.")
        before = _price_fields(price)
    price.model = value.model
    price.provider = value.provider
    price.effective_from = f"{value.effective_from.isoformat()}T00:00:00.000Z"
    for name in RATE_NAMES:
        setattr(price, name, getattr(value, name))
    price.note = value.note
    price.retired = False
    price.updated_at = iso_ms(now)
    price.updated_by = scope.actor_label
    after = _price_fields(price)
    earliest = min([value.effective_from.isoformat(), *([before["effective_from"][:10]] if before else [])])
    _save_price_change(scope, price, before, after, earliest, "price.set" if before else "price.add")
    return price


def retire_price(scope: AccessScope, price_scope: str, price_id: str, expected_version: int | None) -> None:
    """Stop using a staff price from now on; executions it priced keep naming it."""
    scope.require(Can.MANAGE_PRICES)
    price = _get_price(price_scope, price_id)
    if expected_version is not None and price.version != expected_version:
        raise Conflict("Someone changed this price meanwhile; nothing was saved. Look at it again.")
    before = _price_fields(price)
    price.retired = True
    price.updated_at = iso_ms(clock.now())
    price.updated_by = scope.actor_label
    _save_price_change(scope, price, before, _price_fields(price), price.effective_from[:10], "price.retire")


def find_price(scope: AccessScope, price_id: str) -> ModelPrice:
    """A staff price by its id alone (the API's path): one query of the prices' partition."""
    scope.require(Can.MANAGE_PRICES)
    for price in ModelPrice.query(ModelPrice.BOOK, consistent_read=True):
        if price.price_id == price_id:
            return price
    raise NotFound("That price was not found.")


def _get_price(price_scope: str, price_id: str) -> ModelPrice:
    try:
        return ModelPrice.get(*ModelPrice.key_of(price_scope, price_id), consistent_read=True)
    except ModelPrice.DoesNotExist:
        raise NotFound("That price was not found.") from None


def _save_price_change(
    scope: AccessScope, price: ModelPrice, before: dict, after: dict, earliest: str, action: str
) -> None:
    changes = {name: [before.get(name), value] for name, value in after.items() if before.get(name) != value}
    event = audit.build_event(
        scope,
        action,
        "price",
        f"{price.scope}/{price.price_id}",
        tenant_id=None if price.scope == pricing.EVERY_TENANT else price.scope,
        changes=changes,
    )
    past = earliest <= clock.now().date().isoformat()  # days already recorded now price differently

    def prepare():
        marker = _pending_marker(price.scope) if past else None
        seen = marker.changed_at if marker is not None else None

        def build(tx) -> None:
            tx.save(price)  # carries its version condition
            tx.save(event)
            if past:
                since = min(earliest, marker.since) if marker is not None and marker.since else earliest
                pending = PriceChange(
                    *PriceChange.pending_key(price.scope),
                    scope=price.scope,
                    since=since,
                    changed_at=iso_ms(clock.now()),
                )
                # Two staff saving at once: the second re-reads, so the earliest day survives.
                tx.save(
                    pending,
                    condition=PriceChange.item.does_not_exist()
                    if seen is None
                    else PriceChange.changed_at == seen,
                )

        return build

    def conflict() -> None:
        if before and _get_price(price.scope, price.price_id).version != price.version:
            raise Conflict("Someone changed this price meanwhile; nothing was saved. Look at it again.")

    with_retries(prepare, on_conflict=conflict)
    pricing.forget()


def _pending_marker(price_scope: str) -> PriceChange | None:
    """The scope's `pending` marker, read just before the write that extends it."""
    try:
        return PriceChange.get(*PriceChange.pending_key(price_scope), consistent_read=True)
    except PriceChange.DoesNotExist:
        return None


# --- retention: a shortened retention applied to stored executions (dashboard.operations.retention) ---


@dataclass
class RetentionPage:
    """What one page of a tenant's executions (or of the span items of their traces) needed: seen, cut
    short, content removed; where to go on."""

    seen: int = 0
    expired: int = 0
    content_removed: int = 0
    next_cursor: dict | None = None


RETENTION_PAGE = 100


def apply_retention_page(
    tenant_id: str, executions_days: int, content_days: int, now: datetime, cursor: dict | None = None
) -> RetentionPage:
    """One page of the tenant's executions (tenant index, oldest first) brought within a retention: an
    expiry later than `started + executions_days` is brought forward (reads hide it from then on and
    DynamoDB deletes it), content past `started + content_days` is removed from the item, and content
    kept is stamped with when it goes. Rollups are left alone. Safe to repeat: each update only ever
    shortens. One UpdateItem per execution that changes."""
    page = RetentionPage()
    result = Execution.by_tenant.query(tenant_id, limit=RETENTION_PAGE, last_evaluated_key=cursor)
    for execution in result:
        page.seen += 1
        started = parse_iso(execution.started_at)
        expires = started + timedelta(days=executions_days)
        content_until = int((started + timedelta(days=content_days)).timestamp())
        actions = []
        if execution.expires_at is None or execution.expires_at > expires:
            actions.append(Execution.expires_at.set(expires))
            page.expired += expires <= now
        stored = bool(execution.input or execution.output) or execution.content_hidden
        if content_until <= now.timestamp() and stored:
            actions += [Execution.input.remove(), Execution.output.remove()]
            page.content_removed += 1
        if execution.content_expires_at is None or execution.content_expires_at > content_until:
            actions.append(Execution.content_expires_at.set(content_until))
        if actions:
            execution.update(actions=actions)
    page.next_cursor = result.last_evaluated_key
    return page


SPAN_RETENTION_PAGE = 10  # executions a page; each recorded from a trace reads that trace's partition


def apply_span_retention_page(
    tenant_id: str, executions_days: int, content_days: int, now: datetime, cursor: dict | None = None
) -> RetentionPage:
    """One page of the tenant's stored traces brought within a retention, as `apply_retention_page`
    does for executions. Traces are reached through the tenant's executions (tenant index, oldest
    first): an execution recorded from a trace names it (`<trace id>-<span id>`), and the trace's one
    partition (`tenant#trace`) holds its spans, pins and count markers. Each item's expiry is brought
    forward to `start + executions_days`, its input/output (a pin's run input/output) removed once
    `start + content_days` has passed and stamped with it otherwise. Costs and tokens stay. Safe to
    repeat (every update only shortens; a trace of several executions may be read again). Bounded:
    SPAN_RETENTION_PAGE executions, then one query of each distinct trace (at most MAX_SPANS_PER_TRACE
    spans and their markers) and one UpdateItem per item that changes."""
    page = RetentionPage()
    result = Execution.by_tenant.query(tenant_id, limit=SPAN_RETENTION_PAGE, last_evaluated_key=cursor)
    trace_ids = dict.fromkeys(
        match.group(1) for execution in result if (match := EXECUTION_ID.match(execution.execution_id))
    )
    for trace_id in trace_ids:
        items = list(TraceItem.query(trace_pk(tenant_id, trace_id), consistent_read=True))
        starts = {item.span_id: span_start(item) for item in items if item.start_ns}
        for item in items:
            started = starts.get(item.span_id)
            if started is None:
                continue  # a pin whose span is gone: it goes with its own expiry
            page.seen += 1
            expires = started + timedelta(days=executions_days)
            content_until = int((started + timedelta(days=content_days)).timestamp())
            actions = []
            if item.expires_at is None or item.expires_at > expires:
                actions.append(TraceItem.expires_at.set(expires))
                page.expired += expires <= now
            stored = item.content_hidden or bool(item.input or item.output or _run_content(item))
            if content_until <= now.timestamp() and stored:
                actions += [TraceItem.input.remove(), TraceItem.output.remove()]
                if item.run:
                    actions.append(
                        TraceItem.run.set(json.dumps({**json.loads(item.run), "input": "", "output": ""}))
                    )
                page.content_removed += 1
            if stored and (item.content_expires_at is None or item.content_expires_at > content_until):
                actions.append(TraceItem.content_expires_at.set(content_until))
            if actions:
                try:  # on condition it is still there: an update of a deleted item would make a new one
                    item.update(actions=actions, condition=TraceItem.sk.exists())
                except UpdateError as exc:
                    if exc.cause_response_code != "ConditionalCheckFailedException":
                        raise
    page.next_cursor = result.last_evaluated_key
    return page


def _run_content(item: TraceItem) -> bool:
    if not item.run:
        return False
    run = json.loads(item.run)
    return bool(run.get("input") or run.get("output"))


SESSION_INDEX_PAGE = 200


def index_sessions_page(tenant_id: str, cursor: dict | None = None) -> tuple[int, dict | None]:
    """Put one page of the tenant's older executions into the session index (`session_key`, which
    runs recorded before the index lack): (executions updated, the cursor of the next page, None at
    the end). Idempotent; one query and an UpdateItem per execution that has a session and no key.
    The update is conditional on the item still being there, so an execution deleted meanwhile (TTL,
    erasure) is not brought back."""
    result = Execution.by_tenant.query(
        tenant_id,
        filter_condition=Execution.session_id.exists() & Execution.session_key.does_not_exist(),
        limit=SESSION_INDEX_PAGE,
        page_size=SESSION_INDEX_PAGE,
        last_evaluated_key=cursor,
    )
    updated = 0
    for execution in result:
        try:
            execution.update(
                actions=[Execution.session_key.set(session_key(tenant_id, execution.session_id))],
                condition=Execution.agent_key.exists(),
            )
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
            continue
        updated += 1
    return updated, result.last_evaluated_key
