"""Cost analytics at volume and cardinality: one tenant, 90 days, 300 agents, thousands of end users.

1. Writes a JSON Lines file of BENCH_CARD_EXECUTIONS executions (default 1,000,000) and loads it
   with `manage.py import_executions` in a child process (the demo seed's path): rate and peak
   resident memory of the importer.
2. Measures the 30-day overview page and the 90-day htmx swap: DynamoDB calls, read units consumed
   (ReturnConsumedCapacity), median and p95, beside DuckDB computing the same figures (total cost,
   executions, top 10 agents and users with their cost) from the same file. The overview's figures
   are checked equal to DuckDB's.
3. Hot tenant: BENCH_CARD_WRITERS (20) threads post batches of 25 runs of one tenant and day through
   the API for BENCH_CARD_WRITE_SECONDS (20 s): executions/s, conflict retries, items written per
   execution, and a recount (nothing lost or counted twice). Run twice: on the fresh engine, before
   the import, and again on the engine holding it.

Environment: BENCH_CARD_EXECUTIONS, BENCH_CARD_USERS (5,000; run again with 50,000 for the variant),
BENCH_CARD_AGENTS (300), BENCH_CARD_RUNS (10 measured requests), BENCH_CARD_SKIP_WRITES=1 (no hot tenant),
BENCH_CARD_ONLY_WRITES=1 (the hot tenant alone), BENCH_OPERATIONS=1 (calls by operation).
"""

from __future__ import annotations

import collections
import itertools
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.test import Client

from dashboard.accounts import services as accounts
from dashboard.analytics import compaction, demo, overview, queries, services
from dashboard.analytics.inputs import Period
from dashboard.analytics.models import Execution, ExecutionRollup, RollupDigest
from dashboard.apikeys.services import create_key
from dashboard.core import clock
from dashboard.core.clock import iso_ms
from dashboard.core.scope import STAFF, TENANT_ADMIN, AccessScope
from dashboard.dynamo import metrics
from dashboard.dynamo.base import client_of
from dashboard.dynamo.transactions import BATCH_WRITE_LIMIT

BASE_DIR = Path(__file__).resolve().parent.parent


def _agents(count: int) -> list[demo.AgentProfile]:
    shapes = demo.AGENT_SHAPES
    return [
        demo.AgentProfile(f"agent-{n:03d}-{shapes[n % len(shapes)][0]}", *shapes[n % len(shapes)][1:])
        for n in range(count)
    ]


# The shapes a tenant's executions take (issue "fast for any tenant's shape"): who runs them.
SHAPES = {
    "uniform": "300 agents and 5,000 end users, all about equally busy",
    "pareto": "a few agents and users make most executions (Pareto picks)",
    "dominant": "one agent makes 90 % of the executions",
    "users-50k": "50,000 end users, uniform",
    "new-tenant": "a new tenant: one day of data",
}


def _picker(shape: str, rng: random.Random, agents: int, users: int):
    """(agent index, user index) of the next execution in `shape`."""
    if shape == "uniform" or shape == "users-50k":
        return lambda: (rng.randrange(agents), rng.randrange(users))
    if shape == "dominant":
        return lambda: (
            0 if rng.random() < 0.9 else rng.randrange(1, agents),
            int(rng.paretovariate(0.5)) % users,
        )
    # Pareto: spread beyond the generator's head-heavy picks, all 300 agents and all users appear.
    return lambda: (int(rng.paretovariate(0.6)) % agents, int(rng.paretovariate(0.5)) % users)


def _write_file(
    path: Path,
    tenant_id: str,
    total: int,
    agents: int,
    users: int,
    days: int = 90,
    client_cost: bool = True,
    shape: str = "pareto",
) -> None:
    """JSON Lines as `import_executions` takes them; `client_cost`: each line carries its cost (as
    clients that price their own calls send it), else the importer prices it."""
    profiles = _agents(agents)
    user_ids = [f"end-user-{n:05d}" for n in range(users)]
    rng = random.Random(19)
    pick = _picker(shape, rng, agents, users)
    with path.open("w") as out:
        for execution in demo.generate(
            rng,
            tenant_id,
            user_ids,
            total,
            clock.now(),
            days=days,
            agents=profiles,
            id_prefix="card",
            short_text=True,
        ):
            agent, user = pick()
            record = {
                "agent_id": profiles[agent].agent_id,
                "execution_id": execution.execution_id,
                "user_id": user_ids[user],
                "model": execution.model,
                "status": execution.status,
                "started_at": execution.started_at,
                "duration_ms": int(execution.duration_ms),
                "tokens_in": int(execution.tokens_in),
                "tokens_out": int(execution.tokens_out),
                "tokens_cache_read": int(execution.tokens_cache_read),
            }
            if client_cost:
                record["cost_micro_usd"] = int(execution.cost_micro_usd)
            out.write(json.dumps(record, separators=(",", ":")) + "\n")


PEAK_OF_CHILD = (
    "import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(code)"
)


def child_env() -> dict[str, str]:
    """A child process on this benchmark's engine and tables."""
    return {
        **os.environ,
        "DYNAMODB_ENDPOINT_URL": settings.DYNAMODB_ENDPOINT_URL,
        "DYNAMODB_TABLE_PREFIX": settings.DYNAMODB_TABLE_PREFIX,
        "DYNAMODB_READ_TIMEOUT": "120",
    }


def run_with_peak(*command: str) -> tuple[float, int, str]:
    """Run `manage.py COMMAND…` in a child: (seconds, its peak resident memory in KB, its output)."""
    started = time.monotonic()
    # A small Python parent reports its children's peak: this process's own resident memory would
    # otherwise count (a child's peak includes what it shared at the fork).
    result = subprocess.run(
        [sys.executable, "-c", PEAK_OF_CHILD, sys.executable, "manage.py", *command],
        cwd=BASE_DIR,
        env=child_env(),
        capture_output=True,
        text=True,
    )
    if result.returncode:
        raise SystemExit(f"manage.py {' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    *messages, peak_kb = result.stderr.strip().splitlines()
    if messages:
        print("\n".join(messages), file=sys.stderr)
    return time.monotonic() - started, int(peak_kb), result.stdout


def _import(path: Path, tenant_id: str) -> float:
    """Import the file in a child process; its executions/s, the packing of settled days included."""
    elapsed, peak_kb, output = run_with_peak("import_executions", str(path), "--tenant", tenant_id, "--quiet")
    lines = sum(1 for _ in path.open())
    packing = output.rsplit("packed in ", 1)[-1].strip()
    written = int(output.split(" item(s) written")[0].rsplit(" ", 1)[-1])
    print(f"  import: {lines:,} lines in {elapsed:,.0f} s = {lines / elapsed:,.0f} executions/s, "
          f"{written / lines:.2f} items written an execution (settled days packed at the end in {packing}); "
          f"importer peak resident memory {peak_kb / 1024:,.0f} MB", flush=True)  # fmt: skip
    return lines / elapsed


def _in_threads(target, arguments: list) -> float:
    """Run `target(argument)` in one thread per argument; the seconds until all are done."""
    threads = [threading.Thread(target=target, args=(argument,)) for argument in arguments]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - started


def put_items(items: list, threads: int = 4) -> float:
    """Put (table, serialized item) pairs with plain BatchWriteItem calls from `threads` threads, no
    application code; the seconds it took."""
    client = client_of(Execution)
    share = -(-len(items) // threads)

    def send(part: list) -> None:
        for start in range(0, len(part), BATCH_WRITE_LIMIT):
            batch = collections.defaultdict(list)
            for table, item in part[start : start + BATCH_WRITE_LIMIT]:
                batch[table].append({"PutRequest": {"Item": item}})
            while batch:
                batch = client.batch_write_item(RequestItems=dict(batch)).get("UnprocessedItems") or {}

    return _in_threads(send, [items[n * share : (n + 1) * share] for n in range(threads)])


def _engine_ceiling(path: Path, tenant_id: str, sample: int = 20_000, threads: int = 4) -> float:
    """The rate DynamoDB Local itself takes the least any importer must write, on the same tables:
    each execution (with its table's indexes) and its id guard, serialized beforehand and sent as
    plain BatchWriteItem calls from `threads` threads, no counters. It bounds this schema's import rate above."""
    now = clock.now()
    executions = []
    with path.open() as lines:
        for text in itertools.islice(lines, sample):
            execution, _ = services.parse_import_line(tenant_id, text, now)
            executions.append(execution)
    requests = [(Execution.Meta.table_name, execution.serialize()) for execution in executions] + [
        (ExecutionRollup.Meta.table_name, services.guard_item(execution).serialize())
        for execution in executions
    ]
    random.Random(1).shuffle(requests)
    elapsed = put_items(requests, threads)
    print(f"  engine ceiling: DynamoDB Local took {len(requests):,} items (executions and id guards only, "
          f"no counters, no application code) in {elapsed:.1f} s = {len(requests) / elapsed:,.0f} items/s "
          f"= at most {len(executions) / elapsed:,.0f} executions/s for an importer of this schema", flush=True)  # fmt: skip
    return len(executions) / elapsed


def _duckdb(path: Path, period: Period) -> tuple[dict, float]:
    import duckdb

    db = duckdb.connect()
    db.execute(
        f"CREATE TABLE e AS SELECT * FROM read_json('{path}', format='newline_delimited', columns={{'agent_id': 'VARCHAR', 'execution_id': 'VARCHAR', 'user_id': 'VARCHAR', 'model': 'VARCHAR', 'status': 'VARCHAR', 'started_at': 'VARCHAR', 'duration_ms': 'BIGINT', 'tokens_in': 'BIGINT', 'tokens_out': 'BIGINT', 'cost_micro_usd': 'BIGINT'}})"
    )
    start, end = period.start.isoformat(), period.end.isoformat()
    started = time.perf_counter()
    where = f"substr(started_at, 1, 10) BETWEEN '{start}' AND '{end}'"
    count, cost = db.execute(f"SELECT count(*), sum(cost_micro_usd) FROM e WHERE {where}").fetchone()
    tops = {
        column: db.execute(
            f"SELECT {column}, sum(cost_micro_usd) c FROM e WHERE {where} GROUP BY 1 ORDER BY c DESC, 1 LIMIT 10"
        ).fetchall()
        for column in ("agent_id", "user_id", "model")
    }
    elapsed = (time.perf_counter() - started) * 1000
    return {"count": count, "cost": int(cost or 0), **tops}, elapsed


def _check(tenant_id: str, period: Period, raw: dict) -> bool:
    scope = AccessScope(STAFF, "bench", "bench", tenant_id)
    data = overview.build(scope, period, tenant_id)
    mine = {
        "count": data.current.count,
        "cost": data.current.cost_micro_usd,
        "agent_id": [(r.value, r.totals.cost_micro_usd) for r in data.top_agents],
        "user_id": [(r.value, r.totals.cost_micro_usd) for r in data.top_users],
        "model": [(r.value, r.totals.cost_micro_usd) for r in data.top_models],
    }
    theirs = {
        key: [tuple(row) for row in value] if isinstance(value, list) else value for key, value in raw.items()
    }
    return mine == theirs


def _hot_tenant(bench, tenant_id: str, writers: int, seconds: float) -> None:
    token = create_key(AccessScope(STAFF, "bench", "bench", None), tenant_id, "hot writer").token
    sent = [0]
    failures: list = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    day_start = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    before = {name: getattr(services.STATS, name) for name in ("items", "retries")}
    services.STATS.row_updates = collections.Counter()

    def writer(number: int) -> None:
        client = Client()
        sequence = 0
        rng = random.Random(number)
        while time.monotonic() < stop:
            runs = []
            for _ in range(25):
                sequence += 1
                started = day_start + timedelta(seconds=rng.random() * 3600)
                runs.append({
                    "execution_id": f"hot-{number:02d}-{sequence:07d}", "user_id": f"hot-user-{rng.randrange(5000)}",
                    "model": rng.choice(["gpt-4o-mini", "gpt-4o"]), "status": "succeeded",
                    "started_at": iso_ms(started), "duration_ms": 900, "tokens_in": 1000, "tokens_out": 200,
                })  # fmt: skip
            response = client.post(
                f"/api/agents/hot-agent-{number % 4}/runs",
                data=json.dumps({"runs": runs}),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {token}",
            )
            if response.status_code not in (200, 201):
                failures.append(response.status_code)
                continue
            with lock:
                sent[0] += 25

    elapsed = _in_threads(writer, list(range(writers)))
    stats = services.STATS
    items = stats.items - before["items"]
    retries = stats.retries - before["retries"]
    today = clock.now().date()
    counted = sum(t.count for t in queries.daily(tenant_id, "total", today, today).values())
    (hottest, updates), *_ = services.STATS.row_updates.most_common(1)
    services.STATS.row_updates = None
    rate = updates / elapsed
    print(
        f"  hottest counter item {hottest[0]} / {hottest[1]}: {updates:,} transactional updates = "
        f"{rate:,.1f}/s = {2 * rate:,.0f} write units/s; at 10× this volume {20 * rate:,.0f} write units/s "
        "of the 1,000/s one item takes on AWS",
        flush=True,
    )
    print(
        f"  hot tenant: {writers} writers, batches of 25, one tenant and day: {sent[0]:,} executions in "
        f"{elapsed:.1f} s = {sent[0] / elapsed:,.0f} executions/s; {retries} conflict retries; "
        f"{items / max(1, sent[0]):.2f} items written per execution (transactional); "
        f"{len(failures)} failed requests; counted {counted:,} of {sent[0]:,} "
        f"({'exact' if counted == sent[0] else 'MISMATCH'})",
        flush=True,
    )


def run(bench) -> None:
    total = int(os.environ.get("BENCH_CARD_EXECUTIONS", "300000"))
    users = int(os.environ.get("BENCH_CARD_USERS", "5000"))
    agents = int(os.environ.get("BENCH_CARD_AGENTS", "300"))
    runs = int(os.environ.get("BENCH_CARD_RUNS", "10"))
    shapes = os.environ.get("BENCH_CARD_SHAPES", ",".join(SHAPES)).split(",")
    writes = not os.environ.get("BENCH_CARD_SKIP_WRITES")
    reads = not os.environ.get("BENCH_CARD_ONLY_WRITES")

    def hot_tenant(engine: str) -> None:
        hot = f"hot-{total}-{users}-{engine.split()[0]}"
        accounts.create_tenant(hot, "Hot tenant")
        print(f"hot tenant, {engine}:", flush=True)
        _hot_tenant(bench, hot, int(os.environ.get("BENCH_CARD_WRITERS", "20")),
                    float(os.environ.get("BENCH_CARD_WRITE_SECONDS", "20")))  # fmt: skip

    # On AWS a tenant's rows are its own partitions, whatever other tenants hold; DynamoDB Local keeps
    # every table in one SQLite database, and the first run meets a cold JVM. Both figures are printed.
    if writes:
        hot_tenant("fresh engine")
    if reads:
        ceiling = None
        summary = []
        for shape in shapes:
            shape_users = 50_000 if shape == "users-50k" else users
            shape_total = min(total, 20_000) if shape == "new-tenant" else total
            days = 1 if shape == "new-tenant" else 90
            print(f"\n-- shape {shape}: {SHAPES[shape]} ({shape_total:,} executions, {days} day(s), "
                  f"{agents} agents, {shape_users:,} end users) --", flush=True)  # fmt: skip
            ceiling, rows = _reads(bench, shape, shape_total, agents, shape_users, days, runs, ceiling)
            summary += rows
        print("\nsummary (bounds: 30 days ≤ 15 calls, ≤ 150 read units, median ≤ 250 ms; "
              "90 days ≤ 15, ≤ 300, ≤ 400 ms):")  # fmt: skip
        for line in summary:
            print("  " + line, flush=True)
        if writes:
            hot_tenant("engine holding the import")


BOUNDS = {30: (15, 150, 250), 90: (15, 300, 400)}


def _reads(
    bench, shape: str, total: int, agents: int, users: int, days: int, runs: int, ceiling: float | None
) -> tuple[float, list[str]]:
    tenant_id = f"card-{shape}-{total}"
    accounts.create_tenant(tenant_id, f"{shape} {total:,} × {users:,}")
    admin = accounts.create_user(
        f"admin@{tenant_id}.bench", "bench-password", TENANT_ADMIN, tenant_id, "Bench Admin"
    )
    summary = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "executions.jsonl"
        _write_file(path, tenant_id, total, agents, users, days=days, shape=shape)
        rate = _import(path, tenant_id)
        if ceiling is None:
            ceiling = _engine_ceiling(path, f"{tenant_id}-probe")
        print(f"  importer at {rate / ceiling:.0%} of the engine ceiling measured in this run "
              f"({rate:,.0f} of {ceiling:,.0f} executions/s)", flush=True)  # fmt: skip
        client = bench.client_for(admin)

        def measured(url: str, **headers):
            def call():
                with metrics.track(capacity=True):
                    response = client.get(url, **headers)
                if response.status_code != 200:
                    raise SystemExit(f"{url} answered {response.status_code}")

            return call

        pages = {
            30: measured("/analytics/?period=30"),
            90: measured("/analytics/?period=90", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="overview-body"),
        }
        label = {30: "overview page · 30 days", 90: "overview htmx swap · 90 days"}
        # Right after the import: the importer packed the settled days before it finished.
        for period_days, call in pages.items():
            bench.measure_call(f"{label[period_days]} · just imported", call, runs=1, warmup=0)
        # The first view of a new day: the background worker's pass packs the day that just settled
        # (here: the tenant's record of it is dropped and the pass run, as at midnight).
        RollupDigest(compaction.state_pk(tenant_id)).delete()
        built = compaction.run_pass()
        print(f"  worker pass: {len(built)} tenant(s) packed", flush=True)
        for period_days, call in pages.items():
            bench.measure_call(f"{label[period_days]} · first view of the day", call, runs=1, warmup=0)
        today = clock.now().date()
        for period_days, call in pages.items():
            result = bench.measure_call(label[period_days], call, runs=runs, warmup=1)
            period = Period.last(period_days, today)
            raw, elapsed = _duckdb(path, period)
            agree = _check(tenant_id, period, raw)
            calls, units, ms = BOUNDS[period_days]
            within = result.calls <= calls and result.capacity <= units and result.median_ms <= ms
            line = (
                f"{shape:<11} {period_days} days: {result.calls:4.0f} calls, {result.capacity:6.1f} read units, "
                f"median {result.median_ms:6.1f} ms, p95 {result.p95_ms:6.1f} ms; DuckDB {elapsed:6.1f} ms "
                f"(×{result.median_ms / max(elapsed, 0.001):,.1f}); figures {'equal' if agree else 'DIFFER'}; "
                f"{'within' if within else 'OVER'} the bounds"
            )
            print("  " + line, flush=True)
            summary.append(line)
    return ceiling, summary
