"""The log viewer at volume (issue 32): one run of BENCH_VIEWER_LINES lines (default 2,000,000) ingested
through the API and OTLP, then its histogram, patterns and a regex search.

- ingestion: half the lines as `POST /api/experiments/{id}/logs` batches of 500, half as OTLP/HTTP
  protobuf exports of 500 records (`POST /api/otel/v1/logs`), from BENCH_WRITERS threads; lines/s of
  each path, with the volume counters and pattern mining the ingestion now does;
- pattern mining alone (in process): microseconds per line;
- the histogram (`logs/volume`: the viewer's partial and the API), the patterns (page and API): DynamoDB
  calls and read units per view, which must not grow with the line count;
- a regex search's first page (viewer and API): median.

The lines span 20 hours whatever their count, so the default histogram is the same hour view at any size.
Environment: BENCH_VIEWER_LINES (default 2,000,000), BENCH_WRITERS (default 4).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

from django.conf import settings
from django.test import Client
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.logs.v1 import logs_pb2

from bench.bench_logs import _instrument_capacity
from dashboard.accounts import services as accounts
from dashboard.apikeys.services import create_key
from dashboard.core import clock
from dashboard.core.scope import API, STAFF, AccessScope
from dashboard.dynamo.base import client_of
from dashboard.experiments import patterns, services
from dashboard.experiments.demo import run_story
from dashboard.experiments.models import LogStat
from dashboard.flows.models import Project

TENANT = "viewerbench"
BATCH = 500
SPAN_MS = 20 * 3_600_000
OTLP_SEVERITY = {"debug": 5, "info": 9, "warning": 13, "error": 17, "critical": 21}


def _people():
    accounts.create_tenant(TENANT, "Viewer Bench")
    admin = accounts.create_user(f"admin@{TENANT}.bench", "bench-password-1", "tenant_admin", TENANT, "Bench")
    staff = accounts.create_user("staff@viewer.bench", "bench-password-1", "staff", name="Bench Staff")
    staff_scope = AccessScope(role=STAFF, actor_id=staff.user_id, actor_label=staff.email, tenant_id=None)
    return admin, create_key(staff_scope, TENANT, "viewer bench").token


def _events(total: int):
    rng = random.Random(32)
    return list(run_story(rng, total, None))


def _api_body(run_id: str, events, first: int, start_ms: int, step: float) -> str:
    lines = [
        {
            "run_id": run_id,
            "ts": start_ms + int((first + i) * step),
            "seq": first + i,
            "severity": event.severity,
            "component": event.component,
            "message": event.message,
            "fields": event.fields,
        }
        for i, event in enumerate(events)
    ]
    return json.dumps({"lines": lines})


def _otlp_body(experiment_id: str, run_id: str, events, first: int, start_ms: int, step: float) -> bytes:
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
            time_unix_nano=(start_ms + int((first + i) * step)) * 1_000_000 + i,
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


def _ingest(token: str, experiment_id: str, run_id: str, total: int, writers: int) -> None:
    events = _events(total)
    start_ms = clock.epoch_ms() - SPAN_MS
    step = SPAN_MS / total
    headers = {"Authorization": f"Bearer {token}"}
    batches = [(first, events[first : first + BATCH]) for first in range(0, total, BATCH)]
    api_batches, otlp_batches = batches[0::2], batches[1::2]

    def post_api(batch) -> int:
        first, chunk = batch
        body = _api_body(run_id, chunk, first, start_ms, step)
        response = Client().post(
            f"/api/experiments/{experiment_id}/logs", body, content_type="application/json", headers=headers
        )
        if response.status_code not in (200, 201):
            raise SystemExit(f"API ingest answered {response.status_code}: {response.content[:300]}")
        return len(chunk)

    def post_otlp(batch) -> int:
        first, chunk = batch
        body = _otlp_body(experiment_id, run_id, chunk, first, start_ms, step)
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
        started = time.perf_counter()
        done = 0
        with ThreadPoolExecutor(max_workers=writers) as pool:
            for count in pool.map(post, work):
                done += count
                if done % 100_000 < BATCH:
                    print(f"  {label}: {done:,} lines", flush=True)
        seconds = time.perf_counter() - started
        print(
            f"ingest via {label:<34} {done / seconds:8,.0f} lines/s   ({done:,} lines in {seconds:,.0f} s, "
            f"{writers} writers, counters and patterns included)",
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
    print(
        f"pattern mining alone: {seconds / len(events) * 1e6:.1f} µs per line; state {len(state):,} bytes, "
        f"{len(miner.patterns())} patterns (DynamoDB per batch and run: 1 GetItem + 1 conditional PutItem)",
        flush=True,
    )


def run(bench) -> None:
    total = int(os.environ.get("BENCH_VIEWER_LINES", "2000000"))
    writers = int(os.environ.get("BENCH_WRITERS", "4"))
    settings.API_RATE_LIMIT_PER_MINUTE = 10**9  # the benchmark measures ingestion, not the key's allowance
    settings.API_RATE_LIMIT_BURST = 10**9
    _instrument_capacity()
    client_of(LogStat).meta.events.register("provide-client-params.dynamodb", _ask_for_capacity)
    admin, token = _people()
    now = clock.now()
    Project(
        project_id="prj_viewerbench", tenant_id=TENANT, name="Bench", created_at=now, updated_at=now
    ).save()
    scope = AccessScope(role=API, actor_id="bench", actor_label="bench", tenant_id=TENANT)
    experiment = services.create_experiment(scope, "prj_viewerbench", f"{total:,}-line run")
    run_ = services.start_run(scope, experiment.experiment_id, name="big-run")
    _ingest(token, experiment.experiment_id, run_.run_id, total, writers)
    _mining_cost(total)

    client = bench.client_for(admin)
    viewer = f"/experiments/{experiment.experiment_id}/runs/{run_.run_id}/logs/"
    api = Client()
    api_headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    api_run = f"/api/experiments/{experiment.experiment_id}/runs/{run_.run_id}/logs"
    htmx = {"HTTP_HX_REQUEST": "true"}
    bench.measure(f"histogram · viewer partial, {total:,} lines", client, f"{viewer}volume/", runs=20, **htmx)
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
    pattern = quote(r"loss=0\.[0-4]\d")
    bench.measure("regex search · viewer, first page", client, f"{viewer}?q={pattern}&regex=1", runs=10)
    bench.measure(
        "regex search · API, first page of 200",
        api,
        f"{api_run}?q={pattern}&regex=true&limit=200",
        runs=10,
        **api_headers,
    )
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        api.get(f"{api_run}?q={pattern}&regex=true&limit=200", **api_headers)
        timings.append(time.perf_counter() - started)
    print(f"regex search first page, API: median {statistics.median(timings) * 1000:.0f} ms", flush=True)


def _ask_for_capacity(params=None, model=None, **kwargs) -> None:
    if model is not None and model.name in {"Query", "GetItem"}:
        params.setdefault("ReturnConsumedCapacity", "TOTAL")
