"""Load: signed-in people over the main pages and API writers at once, in the production settings.

Prints requests/s, p50/p95 per page, the error count (must be 0) and proves nothing was lost: every
execution an API writer was told was recorded is listed for its tenant, and the overview's
execution count grew by exactly that many.

Environment:
- BENCH_LOAD_SECONDS: how long the load runs (default 10 so `make bench` stays short; the issue's
  figure is 60).
- BENCH_LOAD_READERS / BENCH_LOAD_WRITERS: signed-in page clients and API writers (50 / 10).
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.test import Client

from bench.harness import percentile
from dashboard.accounts.access import scope_for_user
from dashboard.analytics.models import Execution
from dashboard.apikeys.services import create_key
from dashboard.core import clock
from dashboard.core.clock import iso_ms
from dashboard.core.ids import new_id
from dashboard.core.seeding import SeedContext
from dashboard.demo.management.commands.seed_demo import seed_areas

OPTIONS = {"executions": 2_000, "templates": 40, "models": 6, "log_lines": 300, "seed": 11}
PAGES = ["/", "/templates/", "/models/", "/analytics/", "/experiments/", "/flows/", "/account/audit/"]


def _overview_count(client: Client) -> int:
    response = client.get("/api/analytics/execution", {"period": "7"})
    return int(response.json()["current"]["executions"])


def _run_body() -> dict:
    return {
        "execution_id": new_id("exe"),
        "user_id": "load-user",
        "model": "gpt-4o-mini",
        "status": "succeeded",
        "started_at": iso_ms(clock.now() - timedelta(minutes=5)),
        "duration_ms": 900,
        "tokens_in": 300,
        "tokens_out": 120,
        "input": "Hello",
        "output": "Hi",
    }


def run(bench) -> None:
    seconds = float(os.environ.get("BENCH_LOAD_SECONDS", "10"))
    readers = int(os.environ.get("BENCH_LOAD_READERS", "50"))
    writers = int(os.environ.get("BENCH_LOAD_WRITERS", "10"))
    ctx = SeedContext(rng=random.Random(11), now=clock.now(), options=OPTIONS, quiet=True)
    seed_areas(ctx)
    # The production configuration: no debug pages, no per-request call headers.
    settings.DEBUG = False
    settings.DYNAMODB_CALL_HEADERS = False
    admins = [admin for tenant_admins in ctx.admins.values() for admin in tenant_admins]
    token = create_key(scope_for_user(ctx.staff[0]), "acme", "load writer").token
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    before = _overview_count(api)

    timings: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    recorded: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def reader(number: int) -> None:
        client = bench.client_for(admins[number % len(admins)])
        rng = random.Random(number)
        while time.monotonic() < stop_at:
            page = rng.choice(PAGES)
            started = time.perf_counter()
            response = client.get(page)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                timings[page].append(elapsed)
                if response.status_code != 200:
                    errors.append(f"{page} {response.status_code}")

    def writer(number: int) -> None:
        client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
        while time.monotonic() < stop_at:
            body = _run_body()
            started = time.perf_counter()
            response = client.post(
                f"/api/agents/load-agent-{number}/runs", json.dumps(body), content_type="application/json"
            )
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                timings["POST /api/agents/{id}/runs"].append(elapsed)
                if response.status_code == 201 and response.json()["recorded"] == 1:
                    recorded.append(body["execution_id"])
                else:
                    errors.append(f"write {response.status_code}")

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=readers + writers) as pool:
        futures = [pool.submit(reader, n) for n in range(readers)] + [
            pool.submit(writer, n) for n in range(writers)
        ]
        for future in futures:
            future.result()
    elapsed = time.monotonic() - started

    total = sum(len(values) for values in timings.values())
    print(f"{readers} readers + {writers} writers for {elapsed:.0f} s: {total / elapsed:.0f} requests/s")
    for name, values in sorted(timings.items()):
        print(
            f"  {name:<32} p50 {percentile(values, 0.5):7.1f} ms   p95 {percentile(values, 0.95):7.1f} ms   ({len(values)})"
        )
    listed = {
        execution.execution_id for execution in Execution.by_tenant.query("acme", consistent_read=False)
    }
    lost = [execution_id for execution_id in recorded if execution_id not in listed]
    grown = _overview_count(api) - before
    print(f"errors: {len(errors)}{' — ' + ', '.join(sorted(set(errors))[:5]) if errors else ''}")
    print(f"written: {len(recorded)}   lost (not listed): {len(lost)}   overview grew by {grown}")
    if errors or lost or grown != len(recorded):
        raise SystemExit("load: errors, lost writes or a miscounted overview (see above)")
