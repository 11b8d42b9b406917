"""Re-pricing the past: executions, their model calls and every rollup row brought to today's prices.

When staff add or change a price for days that already have executions, the figures of those days
were made with the old price (`PriceChange` `pending` says so on the overview). A re-pricing run
reads the executions of each day of its range (the tenant index, one day at a time, so memory stays
flat) and, for each whose cost at the prices in force now differs from the stored one, writes in one
transaction with up to 98 others:
- the execution: cost += delta, its new price source; on condition its cost is still the one read;
- for an execution made from a trace, each changed model call's `count#` marker (its cost, on
  condition it is still the one read): the execution's cost is the sum of its calls;
- one ledger of what those executions add to every rollup row they count in (daily rows, ranked rows
  and their `rank_cost`). When the day is read through, `settle` adds the day's ledgers, summed, to
  the rows, exactly once (see "a day's rollup deltas" below): a day's rows are updated once each
  instead of once per transaction.

Exactly once. The conditions make a delta land at most once: a second run (or two at once) reads the
cost the first one wrote and finds nothing to change; a transaction that loses a race re-reads and
recomputes. While a day is being settled its figures lag its executions by the deltas not yet added. Live ingestion prices with the new prices once every process has dropped its cached staff
prices (`pricing.cache_seconds()`), so a run starts that long after the change; what ingestion writes
meanwhile adds to the rows with ADD, which commutes with the deltas. An interrupted run, run again,
finishes: each execution is either at the new price already (delta 0) or not yet, and the ledgers it
left are settled by the next run over that day.

Client-sent costs stay as sent unless the run is asked to re-price them (`include_client`).

Kept first pages (dashboard.analytics.queries `TopPages`) are tagged with a bucket's execution count,
which re-pricing does not change: a run deletes the kept pages of every bucket holding a day it
changed, after that day is settled, and sets the day's `last_write` so none is kept again before
the rank index has caught up.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from pynamodb.exceptions import DeleteError, PutError, TransactWriteError, UpdateError

from dashboard.accounts.queries import list_tenants
from dashboard.analytics import compaction, pricing, rollups, template_costs
from dashboard.analytics.models import (
    EXECUTION_TTL_DAYS,
    Execution,
    ExecutionRollup,
    PriceChange,
    TopPage,
    TraceItem,
)
from dashboard.analytics.queries import EXECUTION_ID, all_staff_prices
from dashboard.audit import services as audit
from dashboard.core import clock
from dashboard.core.clock import day_end, day_start, iso_ms, parse_iso
from dashboard.core.errors import NotFound, ValidationFailed
from dashboard.core.ids import new_id
from dashboard.core.scope import AccessScope, Can
from dashboard.dynamo.base import transact_write
from dashboard.dynamo.transactions import Backoff, cancellation_codes, condition_failed, transient

TX_ITEMS = 100
LEDGER_PREFIX = "ledger#"
PART_PREFIX = "part#"
PLAN = "plan"
MAX_ATTEMPTS = 12
EXEC_PREFIX = "exec#"  # TraceItem sort keys (dashboard.analytics.traces)
COUNT_PREFIX = "count#"


@dataclass
class Change:
    """One execution whose cost changes: the new figures and the model calls behind them."""

    execution: Execution
    old_cost: int
    new_cost: int
    source: str | None
    ref: str | None
    calls: list[tuple[TraceItem, int, pricing.Quote]] = field(default_factory=list)  # marker, old, new

    @property
    def delta(self) -> int:
        return self.new_cost - self.old_cost

    def items(self) -> int:
        return 1 + len(self.calls)


@dataclass
class Progress:
    seen: int = 0
    changed: int = 0
    skipped: int = 0  # client-sent costs (unless asked) and calls recorded before calls kept their model
    delta_micro_usd: int = 0
    retries: int = 0
    transactions: int = 0

    def add(self, other: Progress) -> None:
        for name in Progress.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _usage(item) -> pricing.Usage:
    return pricing.Usage(
        input=int(item.tokens_in or 0),
        output=int(item.tokens_out or 0),
        cache_read=int(item.tokens_cache_read or 0),
        cache_write=int(item.tokens_cache_write or 0),
        reasoning=int(item.tokens_reasoning or 0),
    )


def _trace_of(execution: Execution) -> tuple[str, str] | None:
    match = EXECUTION_ID.match(execution.execution_id)
    return match.groups() if match else None


def change_for(execution: Execution, include_client: bool, progress: Progress, prices: list) -> Change | None:
    """What re-pricing changes on one execution (None: nothing), at `prices` (every staff price)."""
    source = execution.price_source or "catalogue"
    old = int(execution.cost_micro_usd or 0)
    if source == "client" and not include_client:
        progress.skipped += 1
        return None
    if source == "trace":
        trace = _trace_of(execution)
        if trace is None:
            return None
        trace_id, _ = trace
        calls = []
        for marker in TraceItem.query(
            f"{execution.tenant_id}#{trace_id}",
            TraceItem.sk.startswith(COUNT_PREFIX),
            consistent_read=True,
        ):
            if marker.execution_id != execution.execution_id:
                continue
            if not marker.model or not marker.start_ns:
                progress.skipped += 1
                continue
            was = int(marker.cost_micro_usd or 0)
            moment = datetime.fromtimestamp(int(marker.start_ns) / 1e9, UTC)
            quote = pricing.quote(
                execution.tenant_id, marker.model, _usage(marker), moment, marker.provider, prices
            )
            if quote.cost_micro_usd != was or quote.source != (marker.price_source or "catalogue"):
                calls.append((marker, was, quote))
        if not calls:
            return None
        delta = sum(quote.cost_micro_usd - was for _, was, quote in calls)
        return Change(execution, old, old + delta, "trace", None, calls)
    quote = pricing.quote(
        execution.tenant_id,
        execution.model,
        _usage(execution),
        parse_iso(execution.started_at),
        execution.provider,
        prices,
    )
    if quote.cost_micro_usd == old and quote.source == source:
        return None  # the same price (a catalogue entry renamed counts as no change)
    return Change(execution, old, quote.cost_micro_usd, quote.source, quote.ref)


def _groups(changes: list[Change]) -> Iterator[list[Change]]:
    """Changes packed into transactions of at most 99 items, leaving room for their ledger."""
    group: list[Change] = []
    items = 0
    for change in changes:
        if group and items + change.items() > TX_ITEMS - 1:
            yield group
            group, items = [], 0
        group.append(change)
        items += change.items()
    if group:
        yield group


def _row_deltas(group: list[Change]) -> dict[tuple[str, str], int]:
    """The rollup rows' cost deltas (hourly rows of the hours still kept only: older ones are gone)."""
    deltas: dict[tuple[str, str], int] = {}
    hours_from = rollups.live_hours_from(clock.now())
    for change in group:
        for key in rollups.keys_for(change.execution, hours_from):
            if template_costs.is_template_row(key[0]):
                continue  # the platform-wide template rows are not re-priced (they never were)
            deltas[key] = deltas.get(key, 0) + change.delta
    return {key: delta for key, delta in deltas.items() if delta}


def _write(group: list[Change]) -> None:
    """The group's executions (and trace calls), each on condition its cost is the one read, and the
    ledger of the rollup deltas they make, in one transaction."""
    first = group[0].execution
    day = rollups.day_of(first.started_at)
    ledger = PriceChange(
        PriceChange.day_book(first.tenant_id, day),
        f"{LEDGER_PREFIX}{new_id('ledger')}",
        scope=first.tenant_id,
        deltas=json.dumps([[pk, sk, delta] for (pk, sk), delta in _row_deltas(group).items()]),
    )
    with transact_write() as tx:
        for change in group:
            execution = change.execution
            actions = [Execution.cost_micro_usd.add(change.delta)]
            if change.source != "trace":
                actions += [Execution.price_source.set(change.source), Execution.price_ref.set(change.ref)]
            condition = Execution.execution_id.exists() & (Execution.tenant_id == execution.tenant_id)
            if change.source != "trace":  # a trace's execution moves with its calls' conditions
                condition &= Execution.cost_micro_usd == change.old_cost
            tx.update(execution, actions=actions, condition=condition)
            for marker, was, quote in change.calls:
                tx.update(
                    marker,
                    actions=[
                        TraceItem.cost_micro_usd.set(quote.cost_micro_usd),
                        TraceItem.price_source.set(quote.source),
                        TraceItem.price_ref.set(quote.ref),
                    ],
                    condition=TraceItem.cost_micro_usd == was,
                )
        tx.save(ledger, condition=PriceChange.item.does_not_exist())


def _fresh(change: Change, include_client: bool, progress: Progress, prices: list) -> Change | None:
    try:
        execution = Execution.get(change.execution.agent_key, change.execution.sk, consistent_read=True)
    except Execution.DoesNotExist:
        return None
    return change_for(execution, include_client, progress, prices)


def _backoff() -> Backoff:
    return Backoff(
        MAX_ATTEMPTS,
        first=0.01,
        most=0.5,
        give_up=lambda: RuntimeError("Re-pricing kept clashing with other writers; run it again to finish."),
    )


def apply(changes: list[Change], include_client: bool, progress: Progress, prices: list) -> None:
    """Write the changes (all of one tenant's day), each exactly once, re-reading those that lost a
    race. Their rollup deltas wait in ledgers until `settle` adds them to the rows."""
    pending = list(changes)
    backoff = _backoff()
    while pending:
        retry: list[Change] = []
        for group in _groups(pending):
            try:
                _write(group)
                progress.transactions += 1
                progress.changed += len(group)
                progress.delta_micro_usd += sum(change.delta for change in group)
            except TransactWriteError as exc:
                if not condition_failed(exc) and not transient(exc):
                    raise
                progress.retries += 1
                retry.extend(group)  # re-read: another run or a late call may have moved them
        if not retry:
            return
        backoff.wait()
        pending = [fresh for change in retry if (fresh := _fresh(change, include_client, Progress(), prices))]


# --- a day's rollup deltas, added to the rows once ---------------------------------------------
#
# Adding each transaction's deltas to the rows in that same transaction costs about nine row updates
# per execution (its agent's, user's and model's day, week and month rows, and the day's totals).
# Summed over a whole day they cost about one row update per two executions: a tenant's 33,000
# executions of a day touch some 16,000 rows. So each execution transaction writes a ledger of its
# deltas, and `settle` adds a day's ledgers to the rows in parts of 99, exactly once:
# - a `plan` names the ledgers it adds (put on condition there is none); the rows' deltas are the sum
#   of those ledgers, sorted and cut into parts the same way by whoever reads the plan;
# - each part's transaction adds its rows, puts its `part#<plan>#n` marker on condition there is none, and
#   checks that the plan is still `applying`: two runs settling at once add each part once;
# - when every part has its marker the plan is `done`; then its ledgers, markers and the plan go,
#   in that order, and a ledger written meanwhile waits for the next plan.
# A run stopped anywhere leaves a state the next `settle` of that day finishes.


def _day_items(book: str, prefix: str) -> list[PriceChange]:
    return list(
        PriceChange.query(
            book,
            PriceChange.item.startswith(prefix),
            consistent_read=True,
            attributes_to_get=["book", "item"],
        )
    )


def _plan_parts(book: str, plan: PriceChange) -> list[list[tuple[str, str, int]]]:
    """The plan's summed deltas cut into parts; ledgers already gone were added by an earlier plan."""
    sums: dict[tuple[str, str], int] = {}
    for ledger in PriceChange.batch_get(
        [(book, item) for item in plan.ledger_ids or []], consistent_read=True
    ):
        for row_pk, row_sk, delta in json.loads(ledger.deltas or "[]"):
            sums[(row_pk, row_sk)] = sums.get((row_pk, row_sk), 0) + delta
    rows = sorted((row_pk, row_sk, delta) for (row_pk, row_sk), delta in sums.items() if delta)
    size = TX_ITEMS - 2  # and the part's marker and the plan's check
    return [rows[n : n + size] for n in range(0, len(rows), size)]


def _add_part(book: str, plan: PriceChange, number: int, rows: list[tuple[str, str, int]]) -> None:
    now = int(time.time())
    marker = PriceChange(
        book, f"{PART_PREFIX}{plan.plan_id}#{number:06d}", scope=plan.scope, plan_id=plan.plan_id
    )
    with transact_write() as tx:
        tx.condition_check(
            PriceChange,
            book,
            PLAN,
            condition=(PriceChange.plan_id == plan.plan_id) & (PriceChange.status == "applying"),
        )
        tx.save(marker, condition=PriceChange.item.does_not_exist())
        for row_pk, row_sk, delta in rows:
            actions = [ExecutionRollup.cost_micro_usd.add(delta)]
            if rollups.is_ranked(row_pk):
                actions.append(ExecutionRollup.rank_cost.add(delta))
            if rollups.is_total(row_pk):
                actions.append(ExecutionRollup.last_write.set(now))
            if rollups.is_hourly(row_pk):
                actions.append(ExecutionRollup.expires_at.set(rollups.hourly_expires_at(row_sk)))
            tx.update(ExecutionRollup(row_pk, row_sk), actions=actions)


def _carry_out(book: str, plan: PriceChange) -> None:
    """Add every part of the plan not yet added, then mark it done and clear it away."""
    for number, rows in enumerate(_plan_parts(book, plan)):
        backoff = _backoff()
        while True:
            try:
                _add_part(book, plan, number, rows)
                break
            except TransactWriteError as exc:
                codes = cancellation_codes(exc)
                if codes and codes[0] == "ConditionalCheckFailed":
                    return  # the plan is done or gone: whoever finished it clears it
                if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
                    break  # another run added this part
                if not transient(exc):
                    raise
                backoff.wait(exc)
    try:
        plan.update(
            actions=[PriceChange.status.set("done")],
            condition=(PriceChange.plan_id == plan.plan_id) & (PriceChange.status == "applying"),
        )
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
    _clear_plan(book, plan)


def _clear_plan(book: str, plan: PriceChange) -> None:
    with PriceChange.batch_write() as batch:
        for item in plan.ledger_ids or []:
            batch.delete(PriceChange(book, item))
        for marker in _day_items(book, f"{PART_PREFIX}{plan.plan_id}#"):
            batch.delete(marker)
    try:
        plan.delete(condition=PriceChange.plan_id == plan.plan_id)
    except DeleteError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise


def settle(tenant_id: str, day: date) -> None:
    """Add every ledger of the tenant's day to its rollup rows, once (see above)."""
    book = PriceChange.day_book(tenant_id, day.isoformat())
    while True:
        try:
            plan = PriceChange.get(book, PLAN, consistent_read=True)
        except PriceChange.DoesNotExist:
            ledgers = _day_items(book, LEDGER_PREFIX)
            if not ledgers:
                return
            plan = PriceChange(
                book,
                PLAN,
                scope=tenant_id,
                plan_id=new_id("plan"),
                status="applying",
                ledger_ids=[ledger.item for ledger in ledgers],
            )
            try:
                plan.save(condition=PriceChange.item.does_not_exist())
            except PutError as exc:
                if exc.cause_response_code != "ConditionalCheckFailedException":
                    raise
                continue  # another run planned first: carry out its plan
        if plan.status == "done":
            _clear_plan(book, plan)
        else:
            _carry_out(book, plan)


def _forget_pages(tenant_id: str, day: date, environments: set[str], dimensions: set[str]) -> None:
    # Digests are tagged with the cost as well, so they no longer hold; rebuilt at the next pass (the
    # environments' sub-scopes with their tenant). Kept pages are tagged with a count only: dropped.
    compaction.mark_dirty(tenant_id)
    keys = [
        rollups.ranked_pk(tenant_id, dimension, bucket)
        for dimension in (*rollups.RANKED_DIMENSIONS, *sorted(dimensions))
        for bucket in rollups.buckets_of(day, dimension)
    ] + [
        rollups.ranked_pk(rollups.scope_id(tenant_id, environment), dimension, bucket)
        for environment in sorted(environments)
        for dimension in rollups.SCOPED_DIMENSIONS
        for bucket in rollups.buckets_of(day)
    ]
    with TopPage.batch_write() as batch:
        for pk in keys:
            batch.delete(TopPage(pk))


# What re-pricing reads of an execution: its keys, what its rollup rows are keyed by, its tokens and
# its price.
PRICING_ATTRIBUTES = [
    "agent_key",
    "sk",
    "tenant_id",
    "agent_id",
    "execution_id",
    "user_id",
    "model",
    "status",
    "environment",  # with tags, session and template: the ranked rows it adds to (rollups.keys_for)
    "tags",
    "session_id",
    "template_id",
    "metadata",  # with counted_keys: its metadata dimensions' rows
    "counted_keys",
    "started_at",
    "provider",
    "tokens_in",
    "tokens_out",
    "tokens_cache_read",
    "tokens_cache_write",
    "tokens_reasoning",
    "cost_micro_usd",
    "price_source",
    "price_ref",
]


def executions_of_day(tenant_id: str, day: date) -> Iterator[Execution]:
    """The tenant's executions started on one UTC day (the tenant index, paged)."""
    yield from Execution.by_tenant.query(
        tenant_id,
        Execution.started_at.between(day_start(day), day_end(day)),
        page_size=500,
        attributes_to_get=PRICING_ATTRIBUTES,  # not the texts: a third of the bytes read
    )


def reprice_day(
    tenant_id: str, day: date, include_client: bool, progress: Progress, prices: list, chunk: int = 1000
) -> None:
    changes: list[Change] = []
    touched = False
    environments: set[str] = set()  # whose sub-scope's kept pages go too
    dimensions: set[str] = set()  # the metadata dimensions the day's executions add to
    for execution in executions_of_day(tenant_id, day):
        progress.seen += 1
        if execution.environment:
            environments.add(execution.environment)
        dimensions.update(rollups.metadata_values(execution))
        change = change_for(execution, include_client, progress, prices)
        if change is not None:
            changes.append(change)
        if len(changes) >= chunk:
            apply(changes, include_client, progress, prices)
            changes, touched = [], True
    if changes:
        apply(changes, include_client, progress, prices)
        touched = True
    settle(tenant_id, day)  # this run's ledgers, and any an interrupted run left
    if touched:
        _forget_pages(tenant_id, day, environments, dimensions)


# --- runs: started from the prices page or `manage.py reprice` ------------------------------


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def check_range(start: date, end: date, today: date) -> None:
    errors = {}
    oldest = today - timedelta(days=EXECUTION_TTL_DAYS)
    if start < oldest:
        errors["start"] = f"Executions are kept {EXECUTION_TTL_DAYS} days: start on or after {oldest}."
    if end > today:
        errors["end"] = "The range cannot end after today."
    if start > end:
        errors["start"] = "The start must be on or before the end."
    if errors:
        raise ValidationFailed("That range cannot be re-priced.", errors)


def start(
    scope: AccessScope,
    tenant_id: str | None,
    first: date,
    last: date,
    include_client: bool = False,
    queued: bool = True,
) -> PriceChange:
    """Record a new run (audited): queued for the background worker, or (`queued=False`, a caller
    that runs it itself with `run(job)`) already running, so no worker takes it too."""
    scope.require(Can.MANAGE_PRICES)
    check_range(first, last, clock.now().date())
    if tenant_id:
        from dashboard.accounts.queries import get_tenant

        get_tenant(tenant_id)
    job_id = new_id("reprice")
    job = PriceChange(
        *PriceChange.job_key(job_id),
        scope=tenant_id or pricing.EVERY_TENANT,
        job_id=job_id,
        start=first.isoformat(),
        end=last.isoformat(),
        include_client=include_client,
        status="queued" if queued else "running",
        days_total=len(_days(first, last)) * (1 if tenant_id else max(len(list_tenants()), 1)),
        created_by=scope.actor_label,
        created_at=iso_ms(clock.now()),
        heartbeat=iso_ms(clock.now()),
    )
    event = audit.build_event(
        scope,
        "price.reprice",
        "prices",
        job_id,
        tenant_id=tenant_id,
        changes={"range": [None, f"{first}…{last}"], "include_client": [None, include_client]},
    )
    with transact_write() as tx:
        tx.save(job)
        tx.save(event)
    return job


def get_job(job_id: str) -> PriceChange:
    try:
        return PriceChange.get(*PriceChange.job_key(job_id), consistent_read=True)
    except PriceChange.DoesNotExist:
        raise NotFound("That re-pricing run was not found.") from None


def _wait_for_caches(pending: list[PriceChange], sleep: Callable[[float], None]) -> None:
    latest = max((parse_iso(marker.changed_at) for marker in pending if marker.changed_at), default=None)
    if latest is None:
        return
    wait = (latest + timedelta(seconds=pricing.cache_seconds()) - clock.now()).total_seconds()
    if wait > 0:
        sleep(wait)


def run(
    job: PriceChange, sleep: Callable[[float], None] = time.sleep, threads: int | None = None
) -> Progress:
    """Re-price the job's range (every tenant, or one), recording progress on the job as it goes."""
    tenants = [t.tenant_id for t in list_tenants()] if job.scope == pricing.EVERY_TENANT else [job.scope]
    if job.scope == pricing.EVERY_TENANT:  # every tenant's markers and the one for every tenant
        pending = list(
            PriceChange.query(PriceChange.BOOK, PriceChange.item.startswith("pending#"), consistent_read=True)
        )
    else:
        pending = [marker] if (marker := _marker(job.scope)) is not None else []
    _wait_for_caches(pending, sleep)
    # Every execution is priced at the staff prices read once here, after every process's cache
    # has expired: a change made during the run leaves its own pending marker for the next run.
    prices = all_staff_prices()
    total = Progress()
    first, last = date.fromisoformat(job.start), date.fromisoformat(job.end)
    lock = threading.Lock()

    def one_day(tenant_id: str, day: date) -> None:
        progress = Progress()
        reprice_day(tenant_id, day, job.include_client, progress, prices)
        with lock:  # one job object, updated from the response: one thread at a time
            total.add(progress)
            job.update(
                actions=[
                    PriceChange.days_done.add(1),
                    PriceChange.seen.add(progress.seen),
                    PriceChange.changed.add(progress.changed),
                    PriceChange.delta_micro_usd.add(progress.delta_micro_usd),
                    PriceChange.heartbeat.set(iso_ms(clock.now())),
                ]
            )

    # Days are independent but for the week and month rows they share (a clash is retried), so a
    # few are re-priced at once: the engine, not this loop, sets the pace.
    work = [(tenant_id, day) for tenant_id in tenants for day in _days(first, last)]
    try:
        with ThreadPoolExecutor(max_workers=max(1, threads or settings.REPRICE_THREADS)) as pool:
            for future in [pool.submit(one_day, *args) for args in work]:
                future.result()
    except Exception as exc:  # noqa: BLE001 — recorded on the job for the page, then raised
        job.update(actions=[PriceChange.status.set("failed"), PriceChange.error.set(str(exc)[:500])])
        raise
    progress = total
    for marker in pending:
        if marker.since and marker.since >= job.start:
            _clear(marker)
    job.update(actions=[PriceChange.status.set("done"), PriceChange.finished_at.set(iso_ms(clock.now()))])
    return progress


def _marker(price_scope: str) -> PriceChange | None:
    try:
        return PriceChange.get(*PriceChange.pending_key(price_scope), consistent_read=True)
    except PriceChange.DoesNotExist:
        return None


def _clear(marker: PriceChange) -> None:
    """Remove a pending marker this run covered, unless a newer change came meanwhile."""
    try:
        marker.delete(condition=PriceChange.changed_at == marker.changed_at)
    except DeleteError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise


STALE_AFTER = timedelta(minutes=5)  # a running job whose heartbeat is older was left by a stopped worker


def run_queued() -> int:
    """Run every queued re-pricing job, and every one a stopped worker left running (its heartbeat
    older than STALE_AFTER): the background worker's share of the prices page. Each job is claimed
    with a conditional update first, so two workers never run the same job at once. How many ran."""
    stale = iso_ms(clock.now() - STALE_AFTER)
    ran = 0
    for job in PriceChange.query(PriceChange.BOOK, PriceChange.item.startswith("job#"), consistent_read=True):
        waiting = job.status == "queued" or (job.status == "running" and (job.heartbeat or "") < stale)
        if not waiting:
            continue
        try:
            job.update(
                actions=[PriceChange.status.set("running"), PriceChange.heartbeat.set(iso_ms(clock.now()))],
                condition=(PriceChange.status == job.status) & (PriceChange.heartbeat == job.heartbeat),
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                continue  # another worker took it
            raise
        try:
            run(job)
        except Exception as exc:  # noqa: BLE001 — recorded on the job by run(); the next job still runs
            logging.getLogger(__name__).error("re-pricing %s failed", job.job_id, exc_info=exc)
        ran += 1
    return ran
