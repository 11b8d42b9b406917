"""Rate limits seen from the JSON API: 429 with its headers, and ingestion retried after a 429 counted once.

The API's auth layer (dashboard/api/auth.py) calls dashboard.apikeys.services.take once per
authenticated request.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client

from dashboard.core import clock
from tests.analytics.conftest import (
    make_tenant,
    raw_executions,
    recomputed_rollups,
    run,
    slug,
    stored_rollups,
)

HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


@pytest.fixture
def limit_of(settings):
    def set_limit(per_minute: int, burst: int = 0) -> None:
        settings.API_RATE_LIMIT_PER_MINUTE = per_minute
        settings.API_RATE_LIMIT_BURST = burst

    return set_limit


@pytest.fixture
def later(monkeypatch):
    """`later(seconds)` moves the clock on (from the real time: TTLs are real in DynamoDB Local)."""
    start = clock.now()
    moved = {"by": timedelta(0)}
    monkeypatch.setattr(clock, "now", lambda: start + moved["by"])

    def advance(seconds: float) -> None:
        moved["by"] += timedelta(seconds=seconds)

    return advance


def get(token: str, path: str = "/api/me"):
    return Client().get(path, HTTP_AUTHORIZATION=f"Bearer {token}")


def post_runs(token: str, agent: str, runs: list[dict]):
    return Client().post(
        f"/api/agents/{agent}/runs",
        data=json.dumps({"runs": runs}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def test_over_the_limit_the_api_answers_429_with_retry_after_and_the_limit_headers(people, limit_of, later):
    limit_of(3)  # one token every 20 s
    token = make_tenant(people).token
    answers = [get(token) for _ in range(4)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    for answer in answers:
        assert all(header in answer for header in HEADERS), answer.headers
        assert answer["X-RateLimit-Limit"] == "3"
    assert [answer["X-RateLimit-Remaining"] for answer in answers] == ["2", "1", "0", "0"]
    refused = answers[-1]
    assert refused["Content-Type"].startswith("application/json")
    error = refused.json()["error"]
    assert error["code"] and error["message"]
    assert 1 <= int(refused["Retry-After"]) <= 20
    assert 0 < int(refused["X-RateLimit-Reset"]) <= 60
    later(int(refused["Retry-After"]))
    assert get(token).status_code == 200


def test_the_limit_headers_come_with_error_answers_too(people, limit_of, later):
    limit_of(5)
    token = make_tenant(people).token
    answer = get(token, f"/api/agents/{slug('agent')}/runs?limit=nope")
    assert answer.status_code == 422
    assert all(header in answer for header in HEADERS)
    malformed = Client().post(
        f"/api/agents/{slug('agent')}/runs",
        data="{not json",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert malformed.status_code == 400
    assert all(header in malformed for header in HEADERS)


def test_a_batch_retried_after_a_429_is_recorded_and_counted_once(people, limit_of, later):
    limit_of(1)  # one request a minute: every retry meets the limit first
    kit = make_tenant(people)
    agent = slug("agent")
    first = [run(f"exe-a{n}") for n in range(3)]
    second = [run(f"exe-b{n}") for n in range(2)]

    assert post_runs(kit.token, agent, first).status_code == 201
    # The client lost the answer and retries at once: refused before anything is read or written.
    refused = post_runs(kit.token, agent, first)
    assert refused.status_code == 429
    later(int(refused["Retry-After"]))
    again = post_runs(kit.token, agent, first)
    assert again.status_code == 200 and again.json()["already_recorded"] == 3

    # A new batch refused first, then sent after the wait, is recorded once.
    refused = post_runs(kit.token, agent, second)
    assert refused.status_code == 429
    later(int(refused["Retry-After"]))
    assert post_runs(kit.token, agent, second).status_code == 201

    later(60)
    listed = get(kit.token, f"/api/agents/{agent}/runs")
    assert listed.status_code == 200
    ids = [item["execution_id"] for item in listed.json()["runs"]]
    assert sorted(ids) == sorted(r["execution_id"] for r in first + second)
    assert len(raw_executions(kit.tenant_id)) == 5
    totals = stored_rollups(kit.tenant_id)
    assert totals == recomputed_rollups(kit.tenant_id)
    assert max(row["count"] for row in totals.values()) == 5  # the tenant total counts each run once
