"""Cost analytics at volume: 1,000,000 executions of one tenant over 90 days.

The executions and the rollups computed from them in memory are loaded straight into the tables
with batch writes from a few threads. Then the 30-day overview (page, JSON API and service) is
measured beside the same figures computed by querying the raw executions on the tenant GSI.

Environment:
- BENCH_EXECUTIONS: volume (default 1,000,000); lower it for a quick trial.
- BENCH_WRITERS: writer threads (default 4).
- BENCH_ANALYTICS_DYNAMODB: URL of an already running DynamoDB Local to load into (or to reuse when
  it already holds this volume), so a long load can be done once and measured many times.
"""

from __future__ import annotations

import os
import random
import sys
import time

from django.conf import settings

from dashboard.accounts import services as accounts
from dashboard.accounts.models import Tenant
from dashboard.accounts.scope import TENANT_ADMIN, AccessScope
from dashboard.analytics import bulk, generator, rollups
from dashboard.analytics.models import Execution, ExecutionRollup
from dashboard.core import clock
from dashboard.dynamo import base
from dashboard.dynamo.tables import ensure_tables

# Items per raw-query page: about DynamoDB's 1 MB page for these items. Without a Limit,
# DynamoDB Local gathers the whole range in its 1 GB heap before cutting the page and runs out.
RAW_PAGE_SIZE = 2_000
OPERATIONS_WITH_CAPACITY = {"Query", "GetItem", "BatchGetItem", "TransactWriteItems", "PutItem", "UpdateItem"}


def _ask_for_capacity(params=None, model=None, **kwargs) -> None:
    # PynamoDB does not ask DynamoDB for consumed capacity; the figures are wanted here.
    if model is not None and model.name in OPERATIONS_WITH_CAPACITY:
        params.setdefault("ReturnConsumedCapacity", "TOTAL")


def _instrument_capacity() -> None:
    for model in (Execution, ExecutionRollup, Tenant):
        client = model._get_connection().connection.client
        client.meta.events.register("provide-client-params.dynamodb", _ask_for_capacity)
    base.connection().client.meta.events.register("provide-client-params.dynamodb", _ask_for_capacity)


def _use_external_dynamodb() -> None:
    url = os.environ.get("BENCH_ANALYTICS_DYNAMODB")
    if url:
        settings.DYNAMODB_ENDPOINT_URL = url
        base.reconfigure()
        list(ensure_tables())


def _tenant_and_admin(tenant_id: str):
    try:
        accounts.get_tenant(tenant_id)
    except Exception:
        accounts.create_tenant(tenant_id, f"Bench {tenant_id}")
    email = f"admin@{tenant_id}.bench"
    return accounts.find_user_by_email(email) or accounts.create_user(
        email, "bench-password", TENANT_ADMIN, tenant_id, "Bench Admin"
    )


def _marker(tenant_id: str) -> tuple[str, str]:
    return (f"{tenant_id}#bench", "loaded")


def _marker_exists(tenant_id: str) -> bool:
    try:
        ExecutionRollup.get(*_marker(tenant_id))
        return True
    except ExecutionRollup.DoesNotExist:
        return False


class _Progress:
    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done, self.started, self.next_report = (
            label,
            total,
            0,
            time.monotonic(),
            0,
        )

    def __call__(self, written: int) -> None:
        self.done += written
        if self.done >= self.next_report or self.done == self.total:
            while self.next_report <= self.done:
                self.next_report += max(1, self.total // 20)
            elapsed = time.monotonic() - self.started
            rate = self.done / elapsed if elapsed else 0
            print(f"  {self.label}: {self.done:>9,} / {self.total:,}  ({rate:,.0f} items/s)", flush=True)


def load(tenant_id: str, users: list[str], total: int, writers: int) -> None:
    now = clock.now()
    accumulator = rollups.Accumulator()

    def executions():
        for execution in generator.generate(
            random.Random(11), tenant_id, users, total, now, days=90, id_prefix="bx", short_text=True
        ):
            accumulator.add(execution)
            yield execution

    started = time.monotonic()
    bulk.write_parallel(Execution, executions(), threads=writers, on_written=_Progress("executions", total))
    rows = list(accumulator.items())
    bulk.write_parallel(
        ExecutionRollup, rows, threads=writers, on_written=_Progress("rollup rows", len(rows))
    )
    ExecutionRollup(*_marker(tenant_id), count=total).save()
    print(
        f"loaded {total:,} executions and {len(rows):,} rollup rows in {time.monotonic() - started:,.0f} s",
        flush=True,
    )


def run(bench) -> None:
    total = int(os.environ.get("BENCH_EXECUTIONS", "1000000"))
    writers = int(os.environ.get("BENCH_WRITERS", "4"))
    _use_external_dynamodb()
    tenant_id = f"bench-{total}"
    admin = _tenant_and_admin(tenant_id)
    users = [admin.user_id] + [f"{tenant_id}-user-{n:02d}" for n in range(1, 25)]
    if _marker_exists(tenant_id):
        print(f"{total:,} executions of {tenant_id} already loaded; measuring.", flush=True)
    else:
        print(f"loading {total:,} executions of one tenant over 90 days with {writers} writers…", flush=True)
        load(tenant_id, users, total, writers)
    if os.environ.get("BENCH_LOAD_ONLY"):
        return
    _instrument_capacity()
    _measure(bench, tenant_id, admin)


def _measure(bench, tenant_id: str, admin) -> None:
    from dashboard.analytics import overview
    from dashboard.analytics.periods import Period

    scope = AccessScope(
        role=TENANT_ADMIN, actor_id=admin.user_id, actor_label=admin.email, tenant_id=tenant_id
    )
    client = bench.client_for(admin)
    runs = int(os.environ.get("BENCH_RUNS", "20"))
    htmx = {"HTTP_HX_REQUEST": "true"}
    bench.measure("analytics overview page · 30 days", client, "/analytics/?period=30", runs=runs)
    bench.measure(
        "analytics overview htmx swap · 90 days", client, "/analytics/?period=90", runs=runs, **htmx
    )
    bench.measure("analytics overview CSV · 30 days", client, "/analytics/export.csv?period=30", runs=runs)
    bench.measure("analytics executions list · tenant", client, "/analytics/executions/", runs=runs)
    bench.measure(
        "analytics executions · status=failed",
        client,
        "/analytics/executions/?status=failed",
        runs=runs,
        **htmx,
    )
    period = Period.last(30, clock.now().date())
    bench.measure_call(
        "overview service (rollups) · 30 days", lambda: overview.build(scope, period), runs=runs
    )

    start, end = period.start_iso(), period.end_iso()

    def raw_figures() -> dict:
        totals = rollups.Totals()
        for execution in Execution.by_tenant.query(
            tenant_id,
            Execution.started_at.between(start, end),
            filter_condition=Execution.expires_at > clock.now(),
            page_size=RAW_PAGE_SIZE,
        ):
            totals.add_execution(execution)
        return {"count": totals.count, "cost": totals.cost_micro_usd}

    # A page of a long raw query can take DynamoDB Local longer than the dashboard's 10 s read
    # timeout when the machine is busy, so the comparison gets a generous one.
    settings.DYNAMODB_READ_TIMEOUT = 600
    base.reconfigure()
    _instrument_capacity()
    raw_runs = int(os.environ.get("BENCH_RAW_RUNS", "2"))
    started = time.monotonic()
    raw = bench.measure_call(
        "same figures from raw executions · 30 days", raw_figures, runs=raw_runs, warmup=0
    )
    print(
        f"  (raw query: {raw.calls:.0f} calls per run, {time.monotonic() - started:,.0f} s for {raw_runs} runs)"
    )
    check = overview.build(scope, period)
    figures = raw_figures()
    agree = check.current.count == figures["count"] and check.current.cost_micro_usd == figures["cost"]
    print(
        f"  rollups: {check.current.count:,} executions, {check.current.cost_micro_usd:,} µUSD; "
        f"raw: {figures['count']:,} executions, {figures['cost']:,} µUSD -> {'agree' if agree else 'DIFFER'}",
        flush=True,
    )
    if not agree:
        sys.exit("rollups and raw executions disagree")
