"""The API spends one request of the key's allowance per call and says so; over it, a 429 that names the wait."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.test import Client

from dashboard.apikeys import services as api_limits
from tests.analytics.conftest import make_tenant


@pytest.fixture
def token(people, settings) -> str:
    settings.API_RATE_LIMIT_PER_MINUTE = 600
    return make_tenant(people, "Limited tenant").token


def refuse(monkeypatch) -> list[str]:
    spent: list[str] = []

    def take(key_id: str) -> api_limits.Decision:
        spent.append(key_id)
        return api_limits.Decision(allowed=False, limit=600, remaining=0, reset_seconds=42, retry_after=7)

    monkeypatch.setattr(api_limits, "take", take)
    return spent


def test_every_answer_carries_the_allowance(token):
    ok = Client().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert ok.status_code == 200
    assert ok["X-RateLimit-Limit"] == str(settings.API_RATE_LIMIT_PER_MINUTE + settings.API_RATE_LIMIT_BURST)
    assert {"X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(ok.headers)
    refused = Client().post(
        "/api/templates", "{}", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert refused.status_code == 422 and "X-RateLimit-Remaining" in refused.headers


def test_over_the_limit_the_api_answers_429_with_retry_after_once_per_request(token, monkeypatch):
    spent = refuse(monkeypatch)
    response = Client().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 429
    assert response["Retry-After"] == "7" and response["X-RateLimit-Remaining"] == "0"
    assert response.json()["error"]["code"] == "rate_limited"
    assert len(spent) == 1


def test_over_the_limit_an_otlp_export_gets_429_with_retry_after(token, monkeypatch):
    spent = refuse(monkeypatch)
    response = Client().post(
        "/api/otel/v1/traces",
        json.dumps({"resourceSpans": []}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 429 and response["Retry-After"] == "7"
    assert len(spent) == 1


def test_a_body_that_is_not_json_is_a_415(token):
    response = Client().post(
        "/api/experiments", "name=x", content_type="text/plain", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
