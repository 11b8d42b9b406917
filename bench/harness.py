"""What every benchmark shares: its own DynamoDB Local, signed-in clients, and measured requests.

A benchmark module `bench/bench_<area>.py` defines `run(bench: Bench) -> None`: it seeds data at the
volume its issue states (with unique ids), then calls `bench.measure(...)` for each page.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass

from django.conf import settings
from django.test import Client

from dashboard.accounts.models import User
from dashboard.accounts.session_store import TENANT_KEY, USER_KEY, SessionStore
from dashboard.dynamo import base, local, metrics
from dashboard.dynamo.tables import ensure_tables


@dataclass
class Result:
    name: str
    runs: int
    median_ms: float
    p95_ms: float
    calls: float
    capacity: float

    def line(self) -> str:
        return (
            f"{self.name:<46} median {self.median_ms:7.1f} ms   p95 {self.p95_ms:7.1f} ms   "
            f"DynamoDB calls {self.calls:4.0f}   read/write units {self.capacity:8.1f}   ({self.runs} runs)"
        )


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


class Bench:
    def __init__(self) -> None:
        port = local.free_port()
        self.process = local.start(port, data_dir=None)
        settings.DYNAMODB_ENDPOINT_URL = f"http://127.0.0.1:{port}"
        settings.DYNAMODB_TABLE_PREFIX = "bench"
        settings.DYNAMODB_CALL_HEADERS = True
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
        base.reconfigure()
        list(ensure_tables())
        self.results: list[Result] = []

    def client_for(self, user: User, **session) -> Client:
        store = SessionStore()
        store[USER_KEY] = user.user_id
        if user.tenant_id:  # as a sign-in records it (accounts.access.login)
            store[TENANT_KEY] = user.tenant_id
        for key, value in session.items():
            store[key] = value
        store.create()
        store.save()
        client = Client()
        client.cookies[settings.SESSION_COOKIE_NAME] = store.session_key
        return client

    def measure(
        self,
        name: str,
        client: Client,
        url: str,
        runs: int = 40,
        warmup: int = 3,
        ok: tuple[int, ...] = (200,),
        **headers,
    ) -> Result:
        """GET `url` repeatedly; report latency percentiles and DynamoDB calls/capacity per request.
        `ok`: the statuses expected (a finished htmx poll answers 286)."""

        def get() -> None:
            response = client.get(url, **headers)
            if response.status_code not in ok:
                raise SystemExit(f"{name}: {url} answered {response.status_code}")

        return self.measure_call(name, get, runs=runs, warmup=warmup)

    def measure_call(self, name: str, function, runs: int = 40, warmup: int = 3) -> Result:
        """The same figures for a plain function (a service call, a raw query to compare against)."""
        for _ in range(warmup):
            function()
        timings, calls, capacity = [], [], []
        for _ in range(runs):
            with metrics.track() as stats:
                start = time.perf_counter()
                function()
                timings.append((time.perf_counter() - start) * 1000)
            calls.append(stats.calls)
            capacity.append(stats.capacity)
        result = Result(
            name,
            runs,
            statistics.median(timings),
            percentile(timings, 0.95),
            statistics.mean(calls),
            statistics.mean(capacity),
        )
        self.results.append(result)
        print(result.line(), flush=True)
        if os.environ.get("BENCH_OPERATIONS"):  # which calls a request makes (the last run's)
            print("    by operation: " + ", ".join(f"{k} {v}" for k, v in sorted(stats.operations.items())))
        return result

    def close(self) -> None:
        local.stop_process(self.process)
