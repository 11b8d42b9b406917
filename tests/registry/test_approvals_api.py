"""The approvals API: a protected move answers 202 with the request; another key decides it."""

import json

import pytest
from django.test import Client

from dashboard.apikeys import services as api_keys
from dashboard.registry import services
from dashboard.registry.models import RegistryPolicy, RegistryVersion


@pytest.fixture
def api(scopes):
    def make(tenant_id: str = "acme"):
        token = api_keys.create_key(scopes["staff"], tenant_id, "release pipeline").token
        return Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    return make


@pytest.fixture
def protected(scopes):
    services.save_policy(
        scopes["acme"],
        {"protected_environments": ["staging"], "protected_aliases": ["champion"], "requesters": ["api"]},
    )
    yield
    RegistryPolicy.get("acme").delete()


def send(client, method, url, body):
    return getattr(client, method)(url, data=json.dumps(body), content_type="application/json")


def test_a_protected_deploy_answers_202_and_another_key_approves_it(api, register, protected):
    model = register()
    asker, approver = api(), api()
    body = {"version": "1.0.0", "environment": "staging", "status": "deploying", "reason": "release 7"}
    asked = send(asker, "put", f"/api/models/{model.model_id}/deploy", body)
    assert asked.status_code == 202, asked.content
    request = asked.json()
    assert request["state"] == "open" and request["protected"] == ["environment:staging"]
    assert RegistryVersion.get(model.model_id, "1.0.0").status == "registered"
    listed = asker.get("/api/models/approvals").json()["items"]
    assert request["request_id"] in [item["request_id"] for item in listed]
    own = send(
        asker,
        "post",
        f"/api/models/approvals/{request['request_id']}",
        {"decision": "approve", "reason": "me"},
    )
    assert own.status_code == 403 and own.json()["error"]["message"].startswith("You asked for this change")
    decided = send(
        approver,
        "post",
        f"/api/models/approvals/{request['request_id']}",
        {"decision": "approve", "reason": "ok"},
    )
    assert decided.status_code == 200, decided.content
    assert decided.json()["request"]["state"] == "approved"
    assert RegistryVersion.get(model.model_id, "1.0.0", consistent_read=True).status == "deploying"
    again = send(
        approver,
        "post",
        f"/api/models/approvals/{request['request_id']}",
        {"decision": "reject", "reason": "x"},
    )
    assert again.status_code == 409 and "already approved" in again.json()["error"]["message"]


def test_a_protected_alias_answers_202_and_a_rejection_leaves_it(api, register, protected):
    model = register()
    asked = send(
        api(), "put", f"/api/models/{model.model_id}/aliases/champion", {"version": "1.0.0", "reason": "best"}
    )
    assert asked.status_code == 202 and asked.json()["kind"] == "alias"
    request_id = asked.json()["request_id"]
    decided = send(
        api(), "post", f"/api/models/approvals/{request_id}", {"decision": "reject", "reason": "no eval"}
    )
    assert decided.status_code == 200 and decided.json()["request"]["state"] == "rejected"
    assert api().get(f"/api/models/{model.model_id}/aliases/champion").status_code == 404


def test_another_tenants_request_is_not_found(api, register, protected):
    model = register()
    asked = send(
        api(), "put", f"/api/models/{model.model_id}/aliases/champion", {"version": "1.0.0", "reason": "best"}
    )
    response = send(
        api("globex"),
        "post",
        f"/api/models/approvals/{asked.json()['request_id']}",
        {"decision": "approve", "reason": "x"},
    )
    assert response.status_code == 404
