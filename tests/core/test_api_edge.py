"""What a careless or hostile client sends to the JSON API: a clear JSON error, never a 500,
and nothing written (issue 12, rows 1, 2, 7, 8, 12, 20)."""

from __future__ import annotations

import json

import pytest
from django.test import Client, override_settings

from dashboard.audit.models import AuditEvent
from dashboard.marketplace import queries as marketplace_queries
from tests.marketplace.conftest import DEFINITION

JSON_WRITES = [
    ("POST", "/api/templates"),
    ("POST", "/api/models/registry"),
    ("POST", "/api/agents/edge-agent/runs"),
    ("POST", "/api/experiments"),
    ("POST", "/api/nodes/types/llm/validate"),
]


def acme_trail() -> list[str]:
    return [event.event_id for event in AuditEvent.query("acme", scan_index_forward=False, limit=20)]


def template_body(**fields) -> dict:
    return {
        "name": "rt tpl",
        "category": "engineering",
        "visibility": "public",
        "definition": DEFINITION,
        **fields,
    }


def test_row1_a_lone_surrogate_in_a_template_name_is_refused_and_nothing_is_written(api):
    before = acme_trail()
    response = api("POST", "/api/templates", template_body(name="rt \ud800 tpl"))
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {
        "name": "must be valid Unicode (it holds a lone surrogate)."
    }
    assert acme_trail() == before


def test_row1_nul_deep_in_a_definition_is_named_by_its_path(api):
    definition = json.loads(json.dumps(DEFINITION))
    definition["nodes"][2]["label"] = "An\x00swer"
    response = api("POST", "/api/templates", template_body(definition=definition))
    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["definition.nodes[2].label"]


@pytest.mark.parametrize(("method", "url"), JSON_WRITES)
def test_row1_every_json_write_refuses_lone_surrogates(api, method, url):
    response = api(method, url, {"name": "\udfff", "run_id": "\ud800"})
    assert response.status_code == 422, response.content
    assert response.json()["error"]["fields"] == {
        "name": "must be valid Unicode (it holds a lone surrogate).",
        "run_id": "must be valid Unicode (it holds a lone surrogate).",
    }


def test_row2_a_long_api_key_id_is_a_plain_401(people):
    response = Client().get("/api/me", HTTP_AUTHORIZATION="Bearer dtk." + "k" * 2049 + ".x")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_row3_a_long_session_cookie_is_ignored(people):
    client = Client()
    client.cookies["sessionid"] = "k" * 2049
    response = client.get("/templates/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert client.get("/login/").status_code == 200


@pytest.mark.parametrize(("method", "url"), JSON_WRITES)
def test_row7_deep_nesting_is_a_400_before_parsing(api, method, url):
    response = api(method, url, raw="[" * 5000)
    assert response.status_code == 400
    assert "nests" in response.json()["error"]["message"]


def test_row7_deep_nesting_in_a_node_config_put(api):
    response = api("PUT", "/api/flows/f/nodes/n/config", raw='{"config": ' + "[" * 5000)
    assert response.status_code == 400


def test_row8_nan_in_a_node_config_and_a_template_position_is_422(api):
    config = api("POST", "/api/nodes/types/llm/validate", raw='{"temperature": NaN}')
    assert config.status_code == 422
    assert config.json()["error"]["fields"] == {"body": "NaN is not allowed"}
    raw = json.dumps(template_body()).replace(
        '"label": "Question"', '"label": "Question", "position": {"x": NaN}'
    )
    template = api("POST", "/api/templates", raw=raw)
    assert template.status_code == 422


def test_row8_infinity_in_registry_parameters_is_422(api):
    response = api("POST", "/api/models/registry", raw='{"name": "m", "parameters": {"lr": Infinity}}')
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"body": "Infinity is not allowed"}


@pytest.mark.parametrize("url", ["/api/templates", "/api/models/registry"])
@pytest.mark.parametrize("limit", ["%C2%B2", "%D9%A3", "-1", "abc", "100000000"])
def test_row12_a_limit_that_is_not_ascii_digits_is_422(api, url, limit):
    response = api("GET", f"{url}?limit={limit}")
    assert response.status_code == 422
    assert "limit" in response.json()["error"]["fields"]


def test_query_strings_with_nul_are_refused_clearly(api, acme_admin):
    assert api("GET", "/api/templates?q=a%00b").status_code == 400
    assert acme_admin.get("/templates/?q=a%00b").status_code == 400
    assert acme_admin.get("/models/?project=" + "x" * 3000).status_code == 400


@override_settings(DEBUG=False)
def test_row20_an_unexpected_error_under_api_answers_json(api, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("something nobody expected")

    monkeypatch.setattr(marketplace_queries, "get_template", broken)
    response = api("GET", "/api/templates/tpl_x")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "error"


@override_settings(DEBUG=False)
def test_row20_a_body_over_the_limit_is_a_413_json_error(api):
    before = acme_trail()
    response = api("POST", "/api/templates", raw="x" * (3 * 1024 * 1024))
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert acme_trail() == before


def test_row20_an_unknown_api_path_is_json(api):
    response = api("GET", "/api/no-such-thing")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
