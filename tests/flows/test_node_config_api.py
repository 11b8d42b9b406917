"""GET/PUT /api/flows/{flowId}/nodes/{nodeId}/config"""

import json

from dashboard.flows.models import NodeConfig
from dashboard.flows.node_types import SECRET_MASK
from tests.flows.conftest import build_flow

HTTP = {"provider": "openai", "model": "gpt-4o", "temperature": 0.0, "max_tokens": 64}


def put(client, url, token, body):
    return client.put(url, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=token)


def test_get_answers_a_node_at_its_defaults(client, acme_flow, api_tokens):
    response = client.get(acme_flow.api_url("retriever"), HTTP_AUTHORIZATION=api_tokens["acme"])
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "default" and body["version"] == 0 and body["errors"] == []
    assert body["config"]["top_k"] == 5 and body["node_type"] == "retriever"


def test_get_reports_an_invalid_stored_config_with_paths(client, api_tokens):
    built = build_flow("acme", configs={"code": {"language": "cobol", "source": "x"}})
    body = client.get(built.api_url("code"), HTTP_AUTHORIZATION=api_tokens["acme"]).json()
    assert body["status"] == "invalid" and body["version"] == 1
    assert body["errors"] == [{"path": "$.language", "message": "Choose one of: python, javascript."}]


def test_get_masks_secrets(client, api_tokens):
    built = build_flow(
        "acme",
        configs={
            "tool": {
                "name": "t",
                "timeout_seconds": 5,
                "auth": {"scheme": "bearer", "token": "tok-top-secret-99"},
            }
        },
    )
    response = client.get(built.api_url("tool"), HTTP_AUTHORIZATION=api_tokens["acme"])
    assert "tok-top-secret-99" not in response.content.decode()
    assert response.json()["config"]["auth"]["token"] == SECRET_MASK


def test_put_saves_a_valid_config_and_bumps_the_version(client, acme_flow, api_tokens):
    url, token = acme_flow.api_url("llm"), api_tokens["acme"]
    first = put(client, url, token, {"version": 0, "config": HTTP})
    assert first.status_code == 200 and first.json()["version"] == 1 and first.json()["status"] == "valid"
    second = put(client, url, token, {"version": 1, "config": {**HTTP, "temperature": 1.0}})
    assert second.json()["version"] == 2
    assert NodeConfig.get(acme_flow.flow_id, "n01").config["temperature"] == 1.0


def test_put_refuses_a_conflicting_save_with_409(client, acme_flow, api_tokens):
    url, token = acme_flow.api_url("llm"), api_tokens["acme"]
    assert put(client, url, token, {"version": 0, "config": HTTP}).status_code == 200
    late = put(client, url, token, {"version": 0, "config": {**HTTP, "model": "late"}})
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "conflict"
    assert "Someone else saved" in late.json()["error"]["message"]
    assert NodeConfig.get(acme_flow.flow_id, "n01").config["model"] == "gpt-4o"


def test_put_refuses_an_invalid_config_with_each_path(client, acme_flow, api_tokens):
    response = put(
        client,
        acme_flow.api_url("llm"),
        api_tokens["acme"],
        {"version": 0, "config": {**HTTP, "temperature": 9, "top_p": -1}},
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["errors"] == [
        {"path": "$.temperature", "message": "Must be at most 2."},
        {"path": "$.top_p", "message": "Must be at least 0."},
    ]
    assert error["fields"]["$.temperature"] == "Must be at most 2."
    assert NodeConfig.count(acme_flow.flow_id) == 0


def test_put_keeps_a_masked_secret(client, api_tokens):
    built = build_flow(
        "acme", configs={"output": {"format": "text", "webhook_secret": "whsec-0123456789abcdef"}}
    )
    url, token = built.api_url("output"), api_tokens["acme"]
    read = client.get(url, HTTP_AUTHORIZATION=token).json()
    saved = put(
        client, url, token, {"version": read["version"], "config": {**read["config"], "format": "json"}}
    )
    assert saved.status_code == 200 and saved.json()["config"]["webhook_secret"] == SECRET_MASK
    assert NodeConfig.get(built.flow_id, "n08").config["webhook_secret"] == "whsec-0123456789abcdef"


def test_put_needs_a_version_and_a_config_object(client, acme_flow, api_tokens):
    url, token = acme_flow.api_url("llm"), api_tokens["acme"]
    assert put(client, url, token, {"config": HTTP}).json()["error"]["fields"] == {
        "version": "This field is required."
    }
    assert put(client, url, token, {"version": 0, "config": [1]}).status_code == 422
    bad_json = client.put(url, "{oops", content_type="application/json", HTTP_AUTHORIZATION=token)
    assert bad_json.status_code == 400 and "not valid JSON" in bad_json.json()["error"]["message"]


def test_another_tenants_node_is_404_for_reads_and_writes(client, globex_flow, api_tokens):
    url, token = globex_flow.api_url("llm"), api_tokens["acme"]
    assert client.get(url, HTTP_AUTHORIZATION=token).status_code == 404
    assert put(client, url, token, {"version": 0, "config": HTTP}).status_code == 404
    assert NodeConfig.count(globex_flow.flow_id) == 0
    assert client.get(url, HTTP_AUTHORIZATION=api_tokens["globex"]).status_code == 200


def test_an_unknown_node_is_404(client, acme_flow, api_tokens):
    response = client.get(
        f"/api/flows/{acme_flow.flow_id}/nodes/n99/config", HTTP_AUTHORIZATION=api_tokens["acme"]
    )
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_it_needs_an_api_key(client, acme_flow):
    assert client.get(acme_flow.api_url("llm")).status_code == 401
