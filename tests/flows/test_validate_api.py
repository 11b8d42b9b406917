"""POST /api/nodes/types/{type}/validate and the catalogue endpoints."""

import json

import pytest

from dashboard.flows.node_schemas import NODE_TYPES


def validate(client, token, node_type, body):
    return client.post(
        f"/api/nodes/types/{node_type}/validate",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=token,
    )


def test_a_valid_config_is_answered_valid(client, api_tokens):
    response = validate(client, api_tokens["acme"], "condition", {"expression": "x > 1"})
    assert response.status_code == 200 and response.json() == {"valid": True, "errors": []}


def test_an_invalid_config_gets_each_error_with_its_json_path(client, api_tokens):
    body = {
        "method": "FETCH",
        "url": "https://a.example",
        "timeout_seconds": 30,
        "retry": {"max_attempts": 11},
        "headers": ["Accept: */*", "broken"],
    }
    response = validate(client, api_tokens["acme"], "http_request", body)
    assert response.json() == {
        "valid": False,
        "errors": [
            {"path": "$.method", "message": "Choose one of: GET, POST, PUT, PATCH, DELETE."},
            {"path": "$.headers[1]", "message": "Write each header as “Name: value”."},
            {"path": "$.retry.max_attempts", "message": "Must be at most 10."},
        ],
    }


def test_a_masked_secret_counts_as_kept(client, api_tokens):
    body = {"provider": "openai", "model": "m", "temperature": 1, "max_tokens": 5, "api_key": "••••••••"}
    assert validate(client, api_tokens["acme"], "llm", body).json()["valid"] is True


def test_a_body_that_is_not_an_object_is_invalid_at_the_root(client, api_tokens):
    response = validate(client, api_tokens["acme"], "output", "markdown")
    assert response.json()["errors"] == [{"path": "$", "message": "Must be an object."}]


def test_an_unknown_node_type_is_404_with_a_clear_message(client, api_tokens):
    response = validate(client, api_tokens["acme"], "teleport", {})
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found"
    assert error["message"].startswith("Unknown node type “teleport”. Known node types: llm, prompt")


def test_validate_answers_only_post(client, api_tokens):
    response = client.get("/api/nodes/types/llm/validate", HTTP_AUTHORIZATION=api_tokens["acme"])
    assert response.status_code == 405


def test_validate_needs_an_api_key(client):
    assert (
        client.post("/api/nodes/types/llm/validate", "{}", content_type="application/json").status_code == 401
    )


@pytest.mark.parametrize("node_type", NODE_TYPES)
def test_the_catalogue_describes_each_type(client, api_tokens, node_type):
    body = client.get(f"/api/nodes/types/{node_type}", HTTP_AUTHORIZATION=api_tokens["acme"]).json()
    assert body["type"] == node_type and body["schema"]["type"] == "object"
    assert body["defaults"] and body["ui"]["order"]


def test_the_catalogue_lists_every_type(client, api_tokens):
    body = client.get("/api/nodes/types", HTTP_AUTHORIZATION=api_tokens["acme"]).json()
    assert [entry["type"] for entry in body["node_types"]] == list(NODE_TYPES)
