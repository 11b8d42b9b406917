"""Run logs at volume: one run with 200,000 lines, its live viewer's polls, and API ingestion.

The 200,000 lines are loaded with batch writes from a few threads. Then:
- the viewer page and its polls (0 and 50 new lines) through the Django client, and the poll
  service alone (the figure that must stay at one query);
- filtered polls and "load earlier" deep in the run;
- ingestion through `POST /api/experiments/{id}/logs` in batches of 500 with an API key:
  lines per second, and the same batches retried (all duplicates).

Environment: BENCH_LOG_LINES (default 200,000), BENCH_WRITERS (default 4),
BENCH_INGEST_BATCHES (default 20 batches of 500).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

from django.test import Client

from dashboard.accounts import services as accounts
from dashboard.apikeys.services import create_key
from dashboard.core import clock
from dashboard.core.scope import API, STAFF, AccessScope
from dashboard.dynamo import base
from dashboard.dynamo.base import client_of
from dashboard.experiments import lines, queries, services
from dashboard.experiments.demo import run_story, story_lines
from dashboard.experiments.inputs import LogFilters
from dashboard.experiments.models import ExperimentRun, RunLogLine
from dashboard.flows.models import Project

TENANT = "logbench"


def _ask_for_capacity(params=None, model=None, **kwargs) -> None:
    # PynamoDB does not ask for consumed capacity; the read/write unit figures need it.
    if model is not None and model.name in {"Query", "GetItem", "BatchGetItem", "TransactWriteItems"}:
        params.setdefault("ReturnConsumedCapacity", "TOTAL")


def _instrument_capacity() -> None:
    for model in (RunLogLine, ExperimentRun):
        client_of(model).meta.events.register("provide-client-params.dynamodb", _ask_for_capacity)
    base.connection().client.meta.events.register("provide-client-params.dynamodb", _ask_for_capacity)


def _people():
    accounts.create_tenant(TENANT, "Log Bench")
    admin = accounts.create_user(f"admin@{TENANT}.bench", "bench-password-1", "tenant_admin", TENANT, "Bench")
    staff = accounts.create_user("staff@logs.bench", "bench-password-1", "staff", name="Bench Staff")
    staff_scope = AccessScope(role=STAFF, actor_id=staff.user_id, actor_label=staff.email, tenant_id=None)
    token = create_key(staff_scope, TENANT, "log bench").token
    return admin, token


def _load(run: ExperimentRun, total: int, writers: int) -> list[str]:
    """Write `total` lines with batch writes from `writers` threads; return their sort keys in order."""
    rng = random.Random(11)
    start_ms = clock.epoch_ms() - total * 60  # ~60 ms apart, ending about now
    items = story_lines(rng, run, total, None, start_ms, (0, 20, 60, 100))

    def write(chunk: list[RunLogLine]) -> int:
        with RunLogLine.batch_write() as batch:
            for item in chunk:
                batch.save(item)
        return len(chunk)

    started = time.perf_counter()
    chunks = [items[i : i + 2_000] for i in range(0, len(items), 2_000)]
    done = 0
    with ThreadPoolExecutor(max_workers=writers) as pool:
        for written in pool.map(write, chunks):
            done += written
            if done % 50_000 < 2_000:
                print(f"  loaded {done:,} lines", flush=True)
    seconds = time.perf_counter() - started
    print(f"  loaded {total:,} lines in {seconds:.0f} s ({total / seconds:,.0f} lines/s, batch writes)")
    ExperimentRun(run.experiment_key, run.run_id).update(
        actions=[
            ExperimentRun.line_count.set(total),
            ExperimentRun.error_count.set(sum(i.severity in lines.ERROR_SEVERITIES for i in items)),
            ExperimentRun.warning_count.set(sum(i.severity == "warning" for i in items)),
            ExperimentRun.components.set({i.component for i in items}),
        ]
    )
    return [item.sk for item in items]


def _ingest_rate(bench, token: str, experiment_id: str, run_id: str, batches: int) -> None:
    client = Client()
    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(5)
    base_ms = clock.epoch_ms()
    bodies = []
    for b in range(batches):
        batch = []
        for i, event in enumerate(run_story(rng, 500, None)):
            seq = b * 500 + i
            batch.append(
                {
                    "run_id": run_id,
                    "ts": base_ms + seq,
                    "seq": seq,
                    "severity": event.severity,
                    "component": event.component,
                    "message": event.message,
                    "fields": event.fields,
                }
            )
        bodies.append(json.dumps({"lines": batch}))
    url = f"/api/experiments/{experiment_id}/logs"
    for label, expected in (("new lines", 500), ("retried batches, all duplicates", 0)):
        timings = []
        for body in bodies:
            started = time.perf_counter()
            response = client.post(url, body, content_type="application/json", headers=headers)
            timings.append(time.perf_counter() - started)
            if response.status_code not in (200, 201) or response.json()["written"] != expected:
                raise SystemExit(f"ingest answered {response.status_code}: {response.content[:300]}")
        total = sum(timings)
        print(
            f"ingest via API, 500-line batches · {label:<32} {batches * 500 / total:8,.0f} lines/s   "
            f"median {statistics.median(timings) * 1000:6.0f} ms per batch   ({batches} batches)",
            flush=True,
        )


def run(bench) -> None:
    total = int(os.environ.get("BENCH_LOG_LINES", "200000"))
    writers = int(os.environ.get("BENCH_WRITERS", "4"))
    batches = int(os.environ.get("BENCH_INGEST_BATCHES", "20"))
    _instrument_capacity()
    admin, token = _people()
    now = clock.now()
    project = Project(
        project_id="prj_logbench", tenant_id=TENANT, name="Bench", created_at=now, updated_at=now
    )
    project.save()
    scope = AccessScope(role=API, actor_id="bench", actor_label="bench", tenant_id=TENANT)
    experiment = services.create_experiment(scope, project.project_id, "200k-line run")
    run_ = services.start_run(scope, experiment.experiment_id, name="big-run")
    raw_keys = _load(run_, total, writers)
    keys = [quote(key) for key in raw_keys]

    client = bench.client_for(admin)
    viewer = f"/experiments/{experiment.experiment_id}/runs/{run_.run_id}/logs/"
    token_ = queries.tail_token(run_)
    htmx = {"HTTP_HX_REQUEST": "true"}
    bench.measure(f"viewer · open the {total:,}-line run", client, viewer, runs=20)
    bench.measure("viewer · poll, 0 new lines", client, f"{viewer}tail/?after={keys[-1]}&t={token_}", **htmx)
    bench.measure(
        "viewer · poll, 50 new lines", client, f"{viewer}tail/?after={keys[-51]}&t={token_}", **htmx
    )
    admin_scope = AccessScope(role="tenant_admin", actor_id=admin.user_id, actor_label="a", tenant_id=TENANT)
    for count in (0, 50):
        bench.measure_call(
            f"poll service alone · {count} new lines",
            lambda count=count: queries.poll(
                admin_scope,
                experiment.experiment_id,
                run_.run_id,
                LogFilters(),
                after=raw_keys[-1 - count],
                token=token_,
            ),
        )
    bench.measure(
        "viewer · poll, severity ≥ warning",
        client,
        f"{viewer}tail/?after={keys[-2000]}&t={token_}&severity=warning",
        **htmx,
    )
    bench.measure(
        "viewer · poll, component = gpu",
        client,
        f"{viewer}tail/?after={keys[-2000]}&t={token_}&component=gpu",
        **htmx,
    )
    bench.measure("viewer · open, severity ≥ error", client, f"{viewer}?severity=error", runs=20)
    bench.measure("viewer · open, text search 'CUDA'", client, f"{viewer}?q=CUDA", runs=10)
    middle = keys[total // 2]
    bench.measure("viewer · load earlier, mid-run", client, f"{viewer}earlier/?before={middle}", **htmx)
    api = Client()
    api_headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    bench.measure(
        "API · run lines after a cursor (200)",
        api,
        f"/api/experiments/{experiment.experiment_id}/runs/{run_.run_id}/logs?after={middle}",
        **api_headers,
    )
    started = time.perf_counter()
    response = client.get(f"{viewer}download/?format=ndjson")
    size = sum(len(chunk) for chunk in response.streaming_content)
    seconds = time.perf_counter() - started
    print(
        f"download NDJSON of the whole run: {total:,} lines, {size / 1e6:.1f} MB in {seconds:.1f} s "
        f"({total / seconds:,.0f} lines/s, streamed page by page)",
        flush=True,
    )
    ingest_run = services.start_run(scope, experiment.experiment_id, name="ingest-run")
    _ingest_rate(bench, token, experiment.experiment_id, ingest_run.run_id, batches)
