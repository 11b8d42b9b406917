"""Cost analytics at volume and cardinality: one tenant, 90 days, 300 agents, thousands of end users.

1. Writes a JSON Lines file of BENCH_CARD_EXECUTIONS executions (default 1,000,000) and loads it
   with `manage.py import_executions` in a child process (the demo seed's path): rate and peak
   resident memory of the importer.
2. Measures the 30-day overview page and the 90-day htmx swap: DynamoDB calls, read units consumed
   (ReturnConsumedCapacity), median and p95, beside DuckDB computing the same figures (total cost,
   executions, top 10 agents, users, models, sessions, templates, environments and tags with their
   cost) from the same file. The overview's figures are checked equal to DuckDB's. Each of the issue
   #28 breakdowns (top sessions, templates, environments, tags) is also measured alone, as the
   overview reads it (its two digests, the daily totals, the top ten, their previous period).

The file's runs are conversations: BENCH_CARD_SESSIONS (50,000, at most a third of the runs) sessions
of consecutive runs of one agent and one end user a minute or two apart (one to dozens of runs, as cut
at random), each with an environment and tags, and a quarter of them running a flow made from one of
TEMPLATES marketplace templates (private to the tenant, so the overview names them).
3. Hot tenant: BENCH_CARD_WRITERS (20) threads post batches of 25 runs of one tenant and day through
   the API for BENCH_CARD_WRITE_SECONDS (20 s): executions/s, conflict retries, items written per
   execution, and a recount (nothing lost or counted twice). Run twice: on the fresh engine, before
   the import, and again on the engine holding it.

Environment: BENCH_CARD_EXECUTIONS, BENCH_CARD_USERS (5,000; run again with 50,000 for the variant),
BENCH_CARD_AGENTS (300), BENCH_CARD_SESSIONS (50,000), BENCH_CARD_RUNS (10 measured requests), BENCH_CARD_SKIP_WRITES=1 (no hot tenant),
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
from datetime import datetime, timedelta
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


TEMPLATES = 6  # each with two flows of the bench tenant
TEMPLATE_SHARE = 0.25  # of the sessions: run by a flow made from a template
HOT_TAGS = ("chat", "search", "batch")  # the hot tenant's runs: one of them each


def _template_flows(tenant_id: str, admin) -> dict[str, str]:
    """TEMPLATES templates of the tenant (through the marketplace's services, as a person makes them)
    and two flows made from each: {flow id: template id}."""
    from dashboard.flows.demo import flow_definition
    from dashboard.flows.models import Flow
    from dashboard.marketplace import services as marketplace

    scope = AccessScope(TENANT_ADMIN, admin.user_id, admin.email, tenant_id)
    now = clock.now()
    flows = {}
    for number in range(TEMPLATES):
        template = marketplace.create_template(scope, {
            "name": f"Bench template {number + 1}", "description": "A template the bench's flows were made from.",
            "category": "customer-support", "tags": ["bench"], "visibility": "private",
            "definition": flow_definition(["prompt", "llm"]),
        })  # fmt: skip
        for copy in range(2):
            flow_id = f"flw_{tenant_id}_{number}_{copy}"
            Flow(flow_id=flow_id, project_id=f"prj_{tenant_id}", tenant_id=tenant_id, name=template.name,
                 source_template_id=template.template_id, created_at=now, updated_at=now).save()  # fmt: skip
            flows[flow_id] = template.template_id
    return flows


def _write_file(
    path: Path,
    tenant_id: str,
    total: int,
    agents: int,
    users: int,
    days: int = 90,
    client_cost: bool = True,
    shape: str = "pareto",
    sessions: int = 0,
    flows: list[str] = (),
) -> None:
    """JSON Lines as `import_executions` takes them; `client_cost`: each line carries its cost (as
    clients that price their own calls send it), else the importer prices it. Runs come in
    `sessions` conversations (module docstring; 0: runs without sessions, environments, tags or flows,
    each its own agent and user); a session of the users-50k shape is one user's."""
    profiles = _agents(agents)
    user_ids = [f"end-user-{n:05d}" for n in range(users)]
    rng = random.Random(19)
    pick = _picker(shape, rng, agents, users)
    shaping = random.Random(23)  # its own stream: the runs' own figures stay as the generator makes them
    if sessions:
        sessions = max(1, min(sessions, total // 3))
    cuts = set(shaping.sample(range(1, total), sessions - 1)) if sessions > 1 else set()
    session = -1
    now = clock.now()
    with path.open("w") as out:
        for index, execution in enumerate(
            demo.generate(
                rng,
                tenant_id,
                user_ids,
                total,
                clock.now(),
                days=days,
                agents=profiles,
                id_prefix="card",
                short_text=True,
            )
        ):
            started_at = execution.started_at
            if not sessions:  # as before conversations: no session, environment, tags nor flow
                agent, user = pick()
                labels, flow = None, None
            elif index == 0 or index in cuts:  # a new conversation: its agent, user, flow, environment, tags
                session += 1
                agent, user = pick()
                if shape == "users-50k":
                    user = session % users
                first = datetime.fromisoformat(execution.started_at)
                turn = 0
                flow = shaping.choice(flows) if flows and shaping.random() < TEMPLATE_SHARE else None
                labels = demo.demo_dimensions(execution.execution_id, profiles[agent], user_ids[user], first)
            else:
                turn += 1
                # A conversation's runs follow its first a minute or two apart (on its day, not after now).
                started = first + timedelta(seconds=90 * turn)
                if started <= now and started.date() == first.date():
                    started_at = iso_ms(started)
            record = {
                "agent_id": profiles[agent].agent_id,
                "execution_id": execution.execution_id,
                "user_id": user_ids[user],
                "model": execution.model,
                "status": execution.status,
                "started_at": started_at,
                "duration_ms": int(execution.duration_ms),
                "tokens_in": int(execution.tokens_in),
                "tokens_out": int(execution.tokens_out),
                "tokens_cache_read": int(execution.tokens_cache_read),
            }
            if labels is not None:
                record |= {"session_id": f"conv-{session:06d}", "environment": labels["environment"],
                           "tags": labels["tags"]}  # fmt: skip
            if flow:
                record["flow_id"] = flow
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


# The issue #28 breakdowns: the overview's list and the file's column DuckDB sums for it.
BREAKDOWNS = {
    "session": ("top_sessions", "session_id"),
    "template": ("top_templates", "template_id"),
    "environment": ("top_environments", "environment"),
    "tag": ("top_tags", "tag"),
}


def _duckdb(path: Path, period: Period, flows: dict[str, str]) -> tuple[dict, float, dict[str, float]]:
    """DuckDB's figures of `period` from the file, its time for the overview's (ms), and for each
    breakdown's top ten alone (ms)."""
    import duckdb

    db = duckdb.connect()
    db.execute(
        f"CREATE TABLE raw AS SELECT * FROM read_json('{path}', format='newline_delimited', columns={{'agent_id': 'VARCHAR', 'execution_id': 'VARCHAR', 'user_id': 'VARCHAR', 'model': 'VARCHAR', 'status': 'VARCHAR', 'started_at': 'VARCHAR', 'duration_ms': 'BIGINT', 'tokens_in': 'BIGINT', 'tokens_out': 'BIGINT', 'cost_micro_usd': 'BIGINT', 'session_id': 'VARCHAR', 'environment': 'VARCHAR', 'tags': 'VARCHAR[]', 'flow_id': 'VARCHAR'}})"
    )
    # Which template each flow came from: the importer stamps it from the flow, the file names the flow.
    db.execute("CREATE TABLE f (flow_id VARCHAR, template_id VARCHAR)")
    if flows:
        db.executemany("INSERT INTO f VALUES (?, ?)", list(flows.items()))
    db.execute("CREATE TABLE e AS SELECT raw.*, f.template_id FROM raw LEFT JOIN f USING (flow_id)")
    db.execute("CREATE TABLE t AS SELECT started_at, cost_micro_usd, unnest(tags) AS tag FROM e")
    start, end = period.start.isoformat(), period.end.isoformat()
    where = f"substr(started_at, 1, 10) BETWEEN '{start}' AND '{end}'"

    def top(column: str, table: str = "e") -> list:
        return db.execute(
            f"SELECT {column}, sum(cost_micro_usd) c FROM {table} WHERE {where} AND {column} IS NOT NULL "
            "GROUP BY 1 ORDER BY c DESC, 1 LIMIT 10"
        ).fetchall()

    started = time.perf_counter()
    count, cost = db.execute(f"SELECT count(*), sum(cost_micro_usd) FROM e WHERE {where}").fetchone()
    tops = {column: top(column) for column in ("agent_id", "user_id", "model")}
    elapsed = (time.perf_counter() - started) * 1000
    alone = {}
    for dimension, (_, column) in BREAKDOWNS.items():
        started = time.perf_counter()
        tops[column] = top(column, "t" if column == "tag" else "e")
        alone[dimension] = (time.perf_counter() - started) * 1000
    return {"count": count, "cost": int(cost or 0), **tops}, elapsed, alone


def _check(tenant_id: str, period: Period, raw: dict) -> dict[str, bool]:
    """Which of the overview's figures equal DuckDB's (by the file's column; `count` and `cost` the
    headline)."""
    scope = AccessScope(STAFF, "bench", "bench", tenant_id)
    data = overview.build(scope, period, tenant_id)
    mine = {
        "count": data.current.count,
        "cost": data.current.cost_micro_usd,
        "agent_id": [(r.value, r.totals.cost_micro_usd) for r in data.top_agents],
        "user_id": [(r.value, r.totals.cost_micro_usd) for r in data.top_users],
        "model": [(r.value, r.totals.cost_micro_usd) for r in data.top_models],
        **{
            column: [(r.value, r.totals.cost_micro_usd) for r in getattr(data, listed)]
            for listed, column in BREAKDOWNS.values()
        },
    }
    theirs = {
        key: [tuple(row) for row in value] if isinstance(value, list) else value for key, value in raw.items()
    }
    return {key: mine[key] == theirs[key] for key in theirs}


def _breakdown(tenant_id: str, dimension: str, period: Period, today) -> None:
    """One breakdown as the overview reads it, alone: the digests of both periods and the daily totals
    that say whether they hold, the top ten, and their previous period."""
    prev = period.previous
    pages = queries.TopPages(today=today)
    ranges = [(dimension, period.start, period.end), (dimension, prev.start, prev.end)]
    pages.load([], queries.digest_keys(tenant_id, ranges, today))
    pages.know_days(queries.daily(tenant_id, "total", prev.start, period.end), prev.start, period.end)
    top = queries.top(tenant_id, dimension, period.start, period.end, overview.TOP_LIMIT, pages=pages)
    queries.figures_of(tenant_id, [(dimension, prev.start, prev.end, [value for value, _ in top])], pages)


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
                    # The dimensions real traffic carries (issue #28): each adds rows to the write.
                    "environment": "production" if rng.random() < 0.8 else "staging",
                    "session_id": f"hot-session-{number:02d}-{sequence // 5}", "tags": [rng.choice(HOT_TAGS)],
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
        flows = _template_flows(tenant_id, admin)
        sessions = int(os.environ.get("BENCH_CARD_SESSIONS", "50000"))
        _write_file(
            path,
            tenant_id,
            total,
            agents,
            users,
            days=days,
            shape=shape,
            sessions=sessions,
            flows=sorted(flows),
        )
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
            raw, elapsed, duck = _duckdb(path, period, flows)
            agree = _check(tenant_id, period, raw)
            calls, units, ms = BOUNDS[period_days]
            within = result.calls <= calls and result.capacity <= units and result.median_ms <= ms
            line = (
                f"{shape:<11} {period_days} days: {result.calls:4.0f} calls, {result.capacity:6.1f} read units, "
                f"median {result.median_ms:6.1f} ms, p95 {result.p95_ms:6.1f} ms; DuckDB {elapsed:6.1f} ms "
                f"(×{result.median_ms / max(elapsed, 0.001):,.1f}); figures {'equal' if all(agree.values()) else 'DIFFER'}; "
                f"{'within' if within else 'OVER'} the bounds"
            )
            print("  " + line, flush=True)
            summary.append(line)
            for dimension, (listed, column) in BREAKDOWNS.items():
                alone = bench.measure_call(
                    f"{dimension} breakdown · {period_days} days",
                    lambda d=dimension, p=period: _breakdown(tenant_id, d, p, today),
                    runs=runs,
                    warmup=1,
                )
                line = (
                    f"{shape:<11} {period_days} days · {listed:<16}: {alone.calls:4.0f} calls, "
                    f"{alone.capacity:6.1f} read units, median {alone.median_ms:6.1f} ms; DuckDB "
                    f"{duck[dimension]:6.1f} ms; figures {'equal' if agree[column] else 'DIFFER'}"
                )
                print("  " + line, flush=True)
                summary.append(line)
    return ceiling, summary
