"""Node configurations under hostile input (issue 12, rows 1, 7, 8, 9)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from dashboard.flows.models import NodeConfig
from tests.flows.conftest import build_flow

BIG_HEADERS = {
    "method": "GET",
    "url": "https://api.example.com/v1/items",
    "timeout_seconds": 30,
    "headers": [f"X-Big-{i}: " + "a" * 100_000 for i in range(5)],
}


def stored(flow, node_type: str):
    try:
        return NodeConfig.get(flow.flow_id, flow.node_id(node_type), consistent_read=True)
    except NodeConfig.DoesNotExist:
        return None


def put(flow, node_type, api_tokens, raw: str):
    return Client().put(
        flow.api_url(node_type), raw, content_type="application/json", HTTP_AUTHORIZATION=api_tokens["acme"]
    )


def test_row9_headers_too_large_to_store_are_422_naming_the_field(people, api_tokens):
    flow = build_flow("acme")
    response = put(flow, "http_request", api_tokens, json.dumps({"version": 0, "config": BIG_HEADERS}))
    assert response.status_code == 422, response.content
    assert list(response.json()["error"]["fields"]) == ["config.headers"]
    assert stored(flow, "http_request") is None


def test_row9_the_validate_endpoint_agrees_that_it_cannot_be_stored(people, api_tokens):
    response = Client().post(
        "/api/nodes/types/http_request/validate",
        json.dumps(BIG_HEADERS),
        content_type="application/json",
        HTTP_AUTHORIZATION=api_tokens["acme"],
    )
    assert response.status_code == 200
    assert response.json()["valid"] is False
    assert [error["path"] for error in response.json()["errors"]] == ["$.headers"]


def test_row8_nan_temperature_is_422_and_nothing_is_stored(people, api_tokens):
    flow = build_flow("acme")
    response = put(flow, "llm", api_tokens, '{"version": 0, "config": {"temperature": NaN}}')
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"body": "NaN is not allowed"}
    assert stored(flow, "llm") is None


@pytest.mark.parametrize(
    ("config_json", "problem"),
    [
        ("[" * 5000, "<code>$</code> nested deeper than"),
        ('{"model": "\\ud800"}', "<code>$.model</code> must be valid Unicode"),
        ('{"model": "a\\u0000b"}', "<code>$.model</code> must not contain the NUL character"),
        ('{"temperature": Infinity}', "Infinity is not allowed"),
    ],
)
def test_rows_1_7_8_the_raw_json_editor_gives_an_inline_error(acme_admin, config_json, problem):
    flow = build_flow("acme")
    response = acme_admin.post(
        flow.config_url("llm"), {"_editor": "json", "_version": "0", "config_json": config_json}
    )
    assert response.status_code == 422
    assert problem in response.content.decode()
    assert stored(flow, "llm") is None


def test_row7_inline_validation_of_deep_json_is_not_a_500(acme_admin):
    response = acme_admin.post(
        "/flows/node-types/output/validate/", {"_editor": "json", "_version": "0", "config_json": "[" * 5000}
    )
    assert response.status_code == 200
    assert "<code>$</code> nested deeper than" in response.content.decode()


def test_row9_the_page_shows_a_too_large_config_on_the_form(acme_admin):
    flow = build_flow("acme")
    draft = dict(BIG_HEADERS, headers=BIG_HEADERS["headers"])
    response = acme_admin.post(
        flow.config_url("http_request"),
        {"_editor": "json", "_version": "0", "config_json": json.dumps(draft)},
    )
    assert response.status_code == 422
    assert "too large" in response.content.decode()
    assert stored(flow, "http_request") is None
