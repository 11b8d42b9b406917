"""GET /api/prices: the rates that apply to the key's tenant for a model name as sent, and their source."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from dashboard.analytics import services
from dashboard.analytics.inputs import PriceIn
from dashboard.apikeys.services import PRICES_KEYS, create_key
from dashboard.audit.models import AuditEvent
from tests.analytics.conftest import STAFF_SCOPE, TenantKit, make_tenant, slug


@pytest.fixture
def tenant(people) -> TenantKit:
    return make_tenant(people)


def test_a_dated_name_answers_the_catalogue_rates_of_its_model(tenant):
    status, body = tenant.get("/api/prices", model="gpt-4o-mini-2024-07-18")
    assert status == 200
    assert (body["source"], body["matched"], body["provider"]) == ("catalogue", "gpt-4o-mini", "openai")
    assert body["rates"] == {
        "input": 150_000,
        "cache_read": 75_000,
        "cache_write": None,
        "output": 600_000,
        "reasoning": None,
    }


def test_a_tenant_contract_answers_for_that_tenant_only(people):
    mine, other = make_tenant(people), make_tenant(people)
    services.save_price(
        STAFF_SCOPE,
        PriceIn.clean(
            model="gpt-4o", effective_from="2026-01-01", tenant_id=mine.tenant_id, input="2", output="8"
        ),
    )
    status, body = mine.get("/api/prices", model="gpt-4o-2024-08-06", provider="openai")
    assert status == 200 and body["source"] == "contract" and body["rates"]["input"] == 2_000_000
    assert body["effective_from"] == "2026-01-01" and body["price"] == "gpt-4o from 2026-01-01, v1"
    assert body["price_id"].startswith("price")
    assert other.get("/api/prices", model="gpt-4o-2024-08-06")[1]["source"] == "catalogue"
    # Before the contract's first day the catalogue applies.
    assert mine.get("/api/prices", model="gpt-4o", at="2025-12-31")[1]["source"] == "catalogue"


def test_an_unknown_model_is_404_no_price(tenant):
    status, body = tenant.get("/api/prices", model=slug("home-grown"))
    assert status == 404 and body["error"]["message"] == "no price"


def test_bad_values_are_422_naming_the_parameter(tenant):
    status, body = tenant.get("/api/prices", model="gpt-4o", at="2026-13-40")
    assert status == 422 and "at" in body["error"]["fields"]
    status, body = tenant.get("/api/prices")
    assert status == 422 and "model" in body["error"]["fields"]


def test_without_a_key_it_is_401(people):
    assert Client().get("/api/prices", {"model": "gpt-4o"}).status_code == 401


def test_it_is_in_the_openapi_document(people):
    document = Client().get("/api/openapi.json").json()
    operation = document["paths"]["/api/prices"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"model", "provider", "at"}
    assert "404" in operation["responses"]


def _prices_key() -> str:
    return create_key(STAFF_SCOPE, PRICES_KEYS, "price list sync").token


def _call(method: str, url: str, token: str, body=None, **params):
    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if body is None:
        return getattr(client, method)(url, params, **headers)
    return getattr(client, method)(url, json.dumps(body), content_type="application/json", **headers)


def test_the_prices_key_adds_changes_and_retires_a_price_audited_and_versioned(people):
    token, model = _prices_key(), slug("contract-model")
    tenant = make_tenant(people)
    body = {
        "model": model,
        "tenant_id": tenant.tenant_id,
        "effective_from": "2026-11-01",
        "input": 0.5,
        "output": 1.5,
    }
    created = _call("post", "/api/prices", token, body)
    assert created.status_code == 201
    price = created.json()
    assert (price["rates"]["input"], price["tenant_id"], price["version"]) == (500_000, tenant.tenant_id, 1)
    assert tenant.get("/api/prices", model=model)[1]["source"] == "contract"
    changed = _call("put", f"/api/prices/{price['price_id']}", token, {**body, "input": 0.6, "version": 1})
    assert changed.status_code == 200 and changed.json()["rates"]["input"] == 600_000
    stale = _call("put", f"/api/prices/{price['price_id']}", token, {**body, "input": 0.9, "version": 1})
    assert stale.status_code == 409
    retired = _call("delete", f"/api/prices/{price['price_id']}?version=2", token)
    assert retired.status_code == 204
    assert tenant.get("/api/prices", model=model)[0] == 404
    actions = [e.action for e in AuditEvent.query(tenant.tenant_id) if e.target_type == "price"]
    assert sorted(actions) == ["price.add", "price.retire", "price.set"]


def test_the_prices_key_reads_no_tenant_data_and_sends_no_telemetry(people):
    token = _prices_key()
    for method, url in (
        ("get", "/api/me"),
        ("get", "/api/agents/a/runs"),
        ("get", "/api/templates"),
        ("get", "/api/experiments"),
    ):
        assert _call(method, url, token).status_code == 403, url
    assert _call("post", "/api/agents/a/runs", token, {"runs": []}).status_code == 403
    otlp = Client().post(
        "/api/otel/v1/traces", b"{}", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert otlp.status_code == 403


def test_a_tenant_key_cannot_set_prices(tenant):
    body = {"model": "gpt-4o", "effective_from": "2026-11-01", "input": 0.01, "output": 0.01}
    response = _call("post", "/api/prices", tenant.token, body)
    assert response.status_code == 403
    assert tenant.get("/api/prices", model="gpt-4o")[1]["source"] == "catalogue"
