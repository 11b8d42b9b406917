"""The log viewer at volume (issue 32): one run of BENCH_VIEWER_LINES lines (default 2,000,000), then its
histogram, patterns, a regex search and the viewer's first page, beside DuckDB over the same lines.

Loading: the first BENCH_VIEWER_INGEST lines (default 100,000; at ~200 lines/s on a loaded 2-core machine
the whole run through the API would take hours) go through ingestion for real:
- half as `POST /api/experiments/{id}/logs` batches of 500, half as OTLP/HTTP protobuf exports of 500
  records (`POST /api/otel/v1/logs`), from BENCH_WRITERS threads: lines/s of each path, counters and
  pattern mining included; and what a line costs: DynamoDB items written and write units;
- the rest is bulk-loaded with exactly the items ingestion writes, built by the experiments area's own
  code (`services._build`, `services.volume_counts`, `services.mine_patterns`): the lines with
  `batch_put` from BENCH_WRITERS threads, the volume counters and the run's counters as the same atomic
  ADDs, the patterns mined into the run's state in chunks of BULK_CHUNK lines (µs per line measured).
Then the run's counters, its volume rows and its patterns' counts are checked equal to the line count.

Views (calls and read units exact, latencies on whatever else the machine runs):
- the histogram (`logs/volume`: the viewer's partial, the API, a 1-hour window), the patterns (page and
  API): calls and read units per view, which must not grow with the line count;
- a regex search's first page (viewer and API) and the viewer's first page: medians;
- DuckDB over the same lines (a JSON Lines file): the histogram's counts (checked equal to the API's)
  and the regex's count, timed.

The lines span 20 hours whatever their count, so the default histogram is the same hour view at any size.
Environment: BENCH_VIEWER_LINES (default 2,000,000), BENCH_VIEWER_INGEST (default 100,000),
BENCH_WRITERS (default 4).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import statistics
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.test import Client
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.logs.v1 import logs_pb2

from bench.bench_logs import _instrument_capacity
from dashboard.accounts import services as accounts
from dashboard.apikeys.services import create_key
from dashboard.core import clock, request_cache
from dashboard.core.scope import API, STAFF, AccessScope
from dashboard.dynamo import base
from dashboard.dynamo.base import client_of
from dashboard.dynamo.transactions import BATCH_WRITE_LIMIT
from dashboard.experiments import inputs, lines, patterns, queries, services
from dashboard.experiments.demo import run_story
from dashboard.experiments.models import ExperimentRun, LogStat, RunLogLine
from dashboard.flows.models import Project

TENANT = "viewerbench"
BATCH = 500
BULK_CHUNK = 10_000  # lines built, written and mined together in the bulk part
SPAN_MS = 20 * 3_600_000
OTLP_SEVERITY = {"debug": 5, "info": 9, "warning": 13, "error": 17, "critical": 21}
REGEX = r"loss=0\.[0-4]\d"
WRITE_OPERATIONS = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


class WriteCount:
    """Items written and write/read units consumed by every DynamoDB call while `on` (all threads)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.on = False
        self.items = self.write_units = self.read_units = 0.0
        self.calls: Counter = Counter()
        self.units: Counter = Counter()
        self.tables: Counter = Counter()

    def reset(self) -> None:
        with self.lock:
            self.items = self.write_units = self.read_units = 0.0
            self.calls = Counter()
            self.units = Counter()
            self.tables = Counter()

    def params(self, params=None, model=None, **kwargs) -> None:
        if not self.on or model is None or model.name not in WRITE_OPERATIONS:
            return
        if model.name == "TransactWriteItems":
            tables = [next(iter(item.values()))["TableName"] for item in params.get("TransactItems", [])]
        elif model.name == "BatchWriteItem":
            tables = [table for table, requests in params.get("RequestItems", {}).items() for _ in requests]
        else:
            tables = [params.get("TableName", "?")]
        with self.lock:
            self.items += len(tables)
            self.tables.update(table.removeprefix(f"{settings.DYNAMODB_TABLE_PREFIX}-") for table in tables)

    def after(self, parsed=None, model=None, **kwargs) -> None:
        if not self.on or model is None:
            return
        consumed = (parsed or {}).get("ConsumedCapacity")
        consumed = [consumed] if isinstance(consumed, dict) else consumed or []
        units = sum(float(entry.get("CapacityUnits", 0) or 0) for entry in consumed)
        with self.lock:
            self.calls[model.name] += 1
            self.units[model.name] += units
            if model.name in WRITE_OPERATIONS:
                self.write_units += units
            else:
                self.read_units += units


WRITES = WriteCount()


def _count_writes() -> None:
    clients = {id(client): client for client in (client_of(model) for model in base.MODELS)}
    clients[id(base.connection().client)] = base.connection().client
    for client in clients.values():
        client.meta.events.register("provide-client-params.dynamodb", WRITES.params)
        client.meta.events.register("after-call.dynamodb", WRITES.after)


def _people():
    accounts.create_tenant(TENANT, "Viewer Bench")
    admin = accounts.create_user(f"admin@{TENANT}.bench", "bench-password-1", "tenant_admin", TENANT, "Bench")
    staff = accounts.create_user("staff@viewer.bench", "bench-password-1", "staff", name="Bench Staff")
    staff_scope = AccessScope(role=STAFF, actor_id=staff.user_id, actor_label=staff.email, tenant_id=None)
    return admin, create_key(staff_scope, TENANT, "viewer bench").token


def _events(total: int):
    rng = random.Random(32)
    return list(run_story(rng, total, None))


class Lines:
    """The run's lines in order, as the story tells them: line `n` at `start_ms + n * step`. Each line
    handed out is also written to a JSON Lines file (ts_ms, severity, message) for DuckDB."""

    def __init__(self, total: int, start_ms: int, path: Path) -> None:
        self.story = run_story(random.Random(32), total, None)
        self.start_ms, self.step = start_ms, SPAN_MS / total
        self.next = 0
        self.file = path.open("w")

    def ts(self, n: int) -> int:
        return self.start_ms + int(n * self.step)

    def take(self, count: int) -> tuple[int, list]:
        first = self.next
        events = list(itertools.islice(self.story, count))
        self.next += len(events)
        self.file.writelines(
            json.dumps({"ts_ms": self.ts(first + i), "severity": e.severity, "message": e.message}) + "\n"
            for i, e in enumerate(events)
        )
        return first, events

    def close(self) -> None:
        self.file.close()


def _api_line(run_id: str, ts_ms: int, seq: int, event) -> dict:
    return {
        "run_id": run_id,
        "ts": ts_ms,
        "seq": seq,
        "severity": event.severity,
        "component": event.component,
        "message": event.message,
        "fields": event.fields,
    }


def _api_body(run_id: str, source: Lines, first: int, events) -> str:
    return json.dumps(
        {"lines": [_api_line(run_id, source.ts(first + i), first + i, e) for i, e in enumerate(events)]}
    )


def _otlp_body(experiment_id: str, run_id: str, source: Lines, first: int, events) -> bytes:
    request = logs_service_pb2.ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    for key, value in (("diatonic.experiment_id", experiment_id), ("diatonic.run_id", run_id)):
        resource_logs.resource.attributes.append(
            common_pb2.KeyValue(key=key, value=common_pb2.AnyValue(string_value=value))
        )
    scope_logs = resource_logs.scope_logs.add()
    scope_logs.scope.name = "trainer"
    for i, event in enumerate(events):
        record = logs_pb2.LogRecord(
            time_unix_nano=source.ts(first + i) * 1_000_000 + i,
            severity_number=OTLP_SEVERITY[event.severity],
            severity_text=event.severity,
        )
        record.body.string_value = event.message
        for key, value in (event.fields or {}).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                record.attributes.append(
                    common_pb2.KeyValue(key=key, value=common_pb2.AnyValue(double_value=value))
                )
        scope_logs.log_records.append(record)
    return request.SerializeToString()


def _ingest(token: str, experiment_id: str, run_id: str, source: Lines, count: int, writers: int) -> None:
    """`count` lines through the API and OTLP (alternate batches of 500), timed per path."""
    headers = {"Authorization": f"Bearer {token}"}
    batches = [source.take(min(BATCH, count - done)) for done in range(0, count, BATCH)]
    api_batches, otlp_batches = batches[0::2], batches[1::2]

    def post_api(batch) -> int:
        first, chunk = batch
        body = _api_body(run_id, source, first, chunk)
        response = Client().post(
            f"/api/experiments/{experiment_id}/logs", body, content_type="application/json", headers=headers
        )
        if response.status_code not in (200, 201) or response.json()["written"] != len(chunk):
            raise SystemExit(f"API ingest answered {response.status_code}: {response.content[:300]}")
        return len(chunk)

    def post_otlp(batch) -> int:
        first, chunk = batch
        body = _otlp_body(experiment_id, run_id, source, first, chunk)
        response = Client().post(
            "/api/otel/v1/logs", body, content_type="application/x-protobuf", headers=headers
        )
        if response.status_code != 200:
            raise SystemExit(f"OTLP ingest answered {response.status_code}: {response.content[:300]}")
        return len(chunk)

    for label, post, work in (
        ("API, 500-line batches", post_api, api_batches),
        ("OTLP/HTTP protobuf, 500 records", post_otlp, otlp_batches),
    ):
        WRITES.reset()
        WRITES.on = True
        started = time.perf_counter()
        done = 0
        with ThreadPoolExecutor(max_workers=writers) as pool:
            for written in pool.map(post, work):
                done += written
                if done % 20_000 < BATCH:
                    print(f"  {label}: {done:,} lines", flush=True)
        seconds = time.perf_counter() - started
        WRITES.on = False
        print(
            f"ingest via {label:<34} {done / seconds:8,.0f} lines/s   ({done:,} lines in {seconds:,.0f} s, "
            f"{writers} writers, counters and patterns included)",
            flush=True,
        )
        calls = sum(WRITES.calls.values())
        print(
            f"  cost per line: {WRITES.items / done:.2f} items written "
            f"({', '.join(f'{table} {n / done:.3f}' for table, n in WRITES.tables.most_common())}), "
            f"{WRITES.write_units / done:.2f} write units, "
            f"{WRITES.read_units / done:.3f} read units, {calls / done:.3f} DynamoDB calls "
            f"({', '.join(f'{op} {n:,} ({WRITES.units[op]:,.0f} units)' for op, n in WRITES.calls.most_common())})",
            flush=True,
        )


def _put_lines(built: list[RunLogLine], writers: int) -> None:
    """Plain BatchWriteItem calls of 25 lines from `writers` threads (on DynamoDB Local in memory about
    twice `batch_put`'s transactions, which pay off only on disk)."""
    client = client_of(RunLogLine)
    table = RunLogLine.Meta.table_name
    items = [line.serialize() for line in built]

    def send(part: list) -> None:
        for start in range(0, len(part), BATCH_WRITE_LIMIT):
            request = {
                table: [{"PutRequest": {"Item": item}} for item in part[start : start + BATCH_WRITE_LIMIT]]
            }
            while request:
                request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}

    share = -(-len(items) // writers)
    with ThreadPoolExecutor(max_workers=writers) as pool:
        for future in [pool.submit(send, items[n : n + share]) for n in range(0, len(items), share)]:
            future.result()


def _bulk(experiment, run_id: str, source: Lines, count: int, writers: int) -> None:
    """The remaining `count` lines as ingestion would have stored them, without its HTTP and per-batch
    transactions: the lines by BatchWriteItem, then the same ADDs to the run and volume rows, and the
    patterns mined by `services.mine_patterns` per chunk (while the chunk before is being written)."""
    now_ms = clock.epoch_ms()
    run_counts: Counter = Counter()
    components: set[str] = set()
    volume_rows: dict[tuple[str, str], Counter] = {}
    mining = waiting = 0.0
    started = time.perf_counter()
    WRITES.reset()
    WRITES.on = True
    pending = None
    with ThreadPoolExecutor(max_workers=1) as background:
        while count > 0:
            first, events = source.take(min(BULK_CHUNK, count))
            count -= len(events)
            built = []
            for i, event in enumerate(events):
                raw = _api_line(run_id, source.ts(first + i), first + i, event)
                line, problems = inputs.clean_line(raw, now_ms)
                if problems:
                    raise SystemExit(f"line {first + i}: {problems}")
                built.append(services._build(experiment, first + i, line))  # ingestion's own builder
            if pending is not None:
                waited_at = time.perf_counter()
                pending.result()  # one chunk in flight while the next is built and mined
                waiting += time.perf_counter() - waited_at
            pending = background.submit(_put_lines, built, writers)
            for line in built:
                run_counts["lines"] += 1
                run_counts["errors"] += line.severity in lines.ERROR_SEVERITIES
                run_counts["warnings"] += line.severity == "warning"
                components.add(line.component)
            for row, counts in services.volume_counts(built).items():
                volume_rows.setdefault(row, Counter()).update(counts)
            mined_at = time.perf_counter()
            services.mine_patterns(built)
            mining += time.perf_counter() - mined_at
            if source.next % 100_000 < BULK_CHUNK:
                elapsed = time.perf_counter() - started
                print(
                    f"  bulk: {source.next:,} lines ({run_counts['lines'] / elapsed:,.0f} lines/s)",
                    flush=True,
                )
        if pending is not None:
            waited_at = time.perf_counter()
            pending.result()
            waiting += time.perf_counter() - waited_at
    expires = services.volume_expiry()
    for (pk, sk), counts in volume_rows.items():
        actions = [getattr(LogStat, name).add(value) for name, value in sorted(counts.items())]
        LogStat(pk, sk).update(actions=[*actions, LogStat.expires_at.set(expires)])
    ExperimentRun(experiment.experiment_key, run_id).update(
        actions=[
            ExperimentRun.line_count.add(run_counts["lines"]),
            ExperimentRun.error_count.add(run_counts["errors"]),
            ExperimentRun.warning_count.add(run_counts["warnings"]),
            ExperimentRun.components.add(components),
            ExperimentRun.last_write_at.set(clock.now()),
        ]
    )
    WRITES.on = False
    seconds = time.perf_counter() - started
    loaded = run_counts["lines"]
    print(
        f"bulk load: {loaded:,} lines in {seconds:,.0f} s ({loaded / seconds:,.0f} lines/s; "
        f"{WRITES.items:,.0f} items, {len(volume_rows)} volume rows ADDed once); pattern mining through "
        f"services.mine_patterns in chunks of {BULK_CHUNK:,} (beside the writer threads): "
        f"{mining / loaded * 1e6:.1f} µs per line; waited on the writes {waiting:.0f} s; calls: "
        f"{', '.join(f'{op} {n:,}' for op, n in WRITES.calls.most_common())}",
        flush=True,
    )


def _mining_cost(total: int) -> None:
    events = _events(min(total, 100_000))
    miner = patterns.Miner()
    started = time.perf_counter()
    for i, event in enumerate(events):
        miner.add(event.message, i)
    seconds = time.perf_counter() - started
    state = miner.dump()
    load_started = time.perf_counter()
    patterns.Miner.load(state).dump()
    reload_ms = (time.perf_counter() - load_started) * 1000
    print(
        f"pattern mining alone: {seconds / len(events) * 1e6:.1f} µs per line; state {len(state):,} bytes, "
        f"{len(miner.patterns())} patterns; loading and dumping the state {reload_ms:.1f} ms per batch "
        f"({reload_ms * 1000 / BATCH:.1f} µs per line in 500-line batches; DynamoDB per batch and run: "
        "1 GetItem + 1 conditional PutItem)",
        flush=True,
    )


def _verify(scope, experiment_id: str, run_id: str, total: int) -> dict:
    """The run's counters, volume and patterns all count `total` lines; the API's histogram."""
    run = queries.get_run(scope, experiment_id, run_id)
    histogram = queries.run_volume(scope, experiment_id, run_id, inputs.LogFilters()).histogram
    whole = queries.experiment_volume(scope, experiment_id, inputs.LogFilters()).histogram
    found = queries.run_patterns(scope, experiment_id, run_id)
    pattern_total = sum(pattern.count for pattern in found.patterns)
    figures = {
        "run line_count": int(run.line_count),
        "run histogram": histogram.total,
        "experiment histogram": whole.total,
        "lines mined": found.mined,
        "patterns' counts": pattern_total,
    }
    print(
        "checks: "
        + ", ".join(f"{name} {value:,}" for name, value in figures.items())
        + f" (lines {total:,}); "
        f"{len(found.patterns)} patterns",
        flush=True,
    )
    wrong = {name: value for name, value in figures.items() if value != total}
    if wrong:
        raise SystemExit(f"counts differ from the {total:,} lines: {wrong}")
    return histogram


def _duckdb(path: Path, histogram) -> None:
    """The same histogram and the regex's count from the lines file, beside the counters' figures."""
    import duckdb

    db = duckdb.connect()
    started = time.perf_counter()
    db.execute(
        f"CREATE TABLE l AS SELECT * FROM read_json('{path}', format='newline_delimited', "
        "columns={'ts_ms': 'BIGINT', 'severity': 'VARCHAR', 'message': 'VARCHAR'})"
    )
    loaded = time.perf_counter() - started
    bucket = histogram.bucket_ms
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        rows = db.execute(
            f"SELECT ts_ms - ts_ms % {bucket} AS b, severity, count(*) FROM l "
            f"WHERE ts_ms BETWEEN {histogram.start_ms} AND {histogram.end_ms} GROUP BY 1, 2"
        ).fetchall()
        timings.append(time.perf_counter() - started)
    duck = {(start, severity): count for start, severity, count in rows}
    ours = {(bar["start"], sev): n for bar in histogram.bars for sev, n in bar["counts"].items() if n}
    regex_timings = []
    for _ in range(5):
        started = time.perf_counter()
        (matches,) = db.execute("SELECT count(*) FROM l WHERE regexp_matches(message, ?)", [REGEX]).fetchone()
        regex_timings.append(time.perf_counter() - started)
    print(
        f"DuckDB over the same {db.execute('SELECT count(*) FROM l').fetchone()[0]:,} lines (file loaded in "
        f"{loaded:.1f} s): histogram counts median {statistics.median(timings) * 1000:.0f} ms "
        f"({'equal to' if duck == ours else 'DIFFERENT from'} the counters' {len(ours)} bar×severity counts); "
        f"regex count {matches:,} lines in median {statistics.median(regex_timings) * 1000:.0f} ms",
        flush=True,
    )


def run(bench) -> None:
    total = int(os.environ.get("BENCH_VIEWER_LINES", "2000000"))
    ingested = min(total, int(os.environ.get("BENCH_VIEWER_INGEST", "100000")))
    writers = int(os.environ.get("BENCH_WRITERS", "4"))
    settings.API_RATE_LIMIT_PER_MINUTE = 10**9  # the benchmark measures ingestion, not the key's allowance
    settings.API_RATE_LIMIT_BURST = 10**9
    _instrument_capacity()
    client_of(LogStat).meta.events.register("provide-client-params.dynamodb", _ask_for_capacity)
    _count_writes()
    admin, token = _people()
    now = clock.now()
    Project(
        project_id="prj_viewerbench", tenant_id=TENANT, name="Bench", created_at=now, updated_at=now
    ).save()
    scope = AccessScope(role=API, actor_id="bench", actor_label="bench", tenant_id=TENANT)
    experiment = services.create_experiment(scope, "prj_viewerbench", f"{total:,}-line run")
    run_ = services.start_run(scope, experiment.experiment_id, name="big-run")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "lines.jsonl"
        source = Lines(total, clock.epoch_ms() - SPAN_MS, path)
        print(
            f"{total:,} lines: {ingested:,} ingested through the API and OTLP, {total - ingested:,} bulk-loaded"
        )
        _ingest(token, experiment.experiment_id, run_.run_id, source, ingested, writers)
        with request_cache.request_scope():  # the tenant's retention read once, as one ingest request does
            _bulk(experiment, run_.run_id, source, total - ingested, writers)
        source.close()
        _mining_cost(total)
        histogram = _verify(scope, experiment.experiment_id, run_.run_id, total)
        _views(bench, admin, token, experiment.experiment_id, run_.run_id, total)
        _duckdb(path, histogram)


def _views(bench, admin, token: str, experiment_id: str, run_id: str, total: int) -> None:
    client = bench.client_for(admin)
    viewer = f"/experiments/{experiment_id}/runs/{run_id}/logs/"
    api = Client()
    api_headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    api_run = f"/api/experiments/{experiment_id}/runs/{run_id}/logs"
    htmx = {"HTTP_HX_REQUEST": "true"}
    bench.measure(f"viewer · first page, {total:,} lines", client, viewer, runs=20)
    bench.measure("histogram · viewer partial", client, f"{viewer}volume/", runs=20, **htmx)
    bench.measure("histogram · API logs/volume", api, f"{api_run}/volume", runs=20, **api_headers)
    middle_from = clock.epoch_ms() - SPAN_MS // 2
    bench.measure(
        "histogram · API, a 1-hour window (per minute)",
        api,
        f"{api_run}/volume?from={middle_from}&to={middle_from + 3_600_000}",
        runs=20,
        **api_headers,
    )
    bench.measure("patterns · page", client, f"{viewer}patterns/", runs=20)
    bench.measure("patterns · API logs/patterns", api, f"{api_run}/patterns", runs=20, **api_headers)
    pattern = quote(REGEX)
    bench.measure("regex search · viewer, first page", client, f"{viewer}?q={pattern}&regex=1", runs=10)
    bench.measure(
        "regex search · API, first page of 200",
        api,
        f"{api_run}?q={pattern}&regex=true&limit=200",
        runs=10,
        **api_headers,
    )


def _ask_for_capacity(params=None, model=None, **kwargs) -> None:
    if model is not None and model.name in {"Query", "GetItem"}:
        params.setdefault("ReturnConsumedCapacity", "TOTAL")
