"""GET /api/prices: the rates that apply to the key's tenant for a model name as sent, and their source."""

from __future__ import annotations

import pytest
from django.test import Client

from dashboard.analytics import services
from dashboard.analytics.inputs import PriceIn
from tests.analytics.conftest import STAFF_SCOPE, TenantKit, make_tenant, slug


@pytest.fixture
def tenant(people) -> TenantKit:
    return make_tenant(people)


def test_a_dated_name_answers_the_catalogue_rates_of_its_model(tenant):
    status, body = tenant.get("/api/prices", model="gpt-4o-mini-2024-07-18")
    assert status == 200
    assert (body["source"], body["matched"], body["provider"]) == ("catalogue", "gpt-4o-mini", "openai")
    assert body["rates"] == {"input": 150_000, "cache_read": 75_000, "cache_write": None, "output": 600_000, "reasoning": None}


def test_a_tenant_contract_answers_for_that_tenant_only(people):
    mine, other = make_tenant(people), make_tenant(people)
    services.save_price(
        STAFF_SCOPE,
        PriceIn.clean(model="gpt-4o", effective_from="2026-01-01", tenant_id=mine.tenant_id, input="2", output="8"),
    )
    status, body = mine.get("/api/prices", model="gpt-4o-2024-08-06", provider="openai")
    assert status == 200 and body["source"] == "contract" and body["rates"]["input"] == 2_000_000
    assert body["effective_from"] == "2026-01-01" and body["price"].endswith("@1")
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
