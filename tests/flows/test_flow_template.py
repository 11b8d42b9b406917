"""A flow saved as a template (page and API): settings kept, secrets out and asked for on use; a newer
approved version offered to the flows made from it, applied keeping their own settings."""

from __future__ import annotations

import json

import pytest

from dashboard.accounts.access import scope_for_user
from dashboard.core import clock
from dashboard.flows.models import Flow, FlowNode, NodeConfig, Project
from dashboard.marketplace import services as marketplace
from dashboard.marketplace.models import AgentTemplate
from tests.conftest import unique
from tests.flows.conftest import build_flow
from tests.marketplace.conftest import word

LLM = {
    "provider": "anthropic",
    "model": "claude-3-5-haiku",
    "temperature": 0.2,
    "max_tokens": 512,
    "api_key": "sk-live-abcdefghijklmnop",
}
HTTP = {
    "method": "POST",
    "url": "https://api.example.com/v1/tickets",
    "timeout_seconds": 12,
    "headers": ["Accept: application/json", "Authorization: Bearer sk-headersecret12345"],
    "auth": {"scheme": "bearer", "token": "AKIAABCDEFGHIJKLMNOP"},
}
PROMPT = {"role": "user", "template": "Answer {question} kindly.", "variables": ["question"]}


@pytest.fixture
def scopes(people):
    return {name: scope_for_user(people[f"admin of {name}"]) for name in ("acme", "globex")} | {
        "moderator": scope_for_user(people["moderator"])
    }


@pytest.fixture
def project_of():
    def make(tenant_id: str) -> Project:
        now = clock.now()
        project = Project(
            project_id=unique("prj"), tenant_id=tenant_id, name=f"P {word()}", created_at=now, updated_at=now
        )
        project.save()
        return project

    return make


@pytest.fixture
def configured_flow(people):
    return build_flow(
        "acme", name=f"Triage {word()}", configs={"llm": LLM, "http_request": HTTP, "prompt": PROMPT}
    )


def save(client, flow, visibility="private", name=None):
    return client.post(
        f"/flows/{flow.flow_id}/template/",
        {"name": name or f"From flow {word()}", "category": "customer-support", "visibility": visibility},
    )


def template_of(response) -> AgentTemplate:
    assert response.status_code == 302, response.content.decode()[:2000]
    return AgentTemplate.get(response["Location"].strip("/").split("/")[-1], consistent_read=True)


def node_of(template, node_type):
    return next(node for node in template.definition["nodes"] if node["type"] == node_type)


def test_saving_a_flow_keeps_its_settings_and_lists_its_secrets_as_inputs(acme_admin, configured_flow):
    page = acme_admin.get(f"/flows/{configured_flow.flow_id}/template/").content.decode()
    assert "Llm step" in page and "required input" in page
    template = template_of(save(acme_admin, configured_flow))
    stored = json.dumps(template.definition)
    for secret in ("sk-live-abcdefghijklmnop", "sk-headersecret12345", "AKIAABCDEFGHIJKLMNOP"):
        assert secret not in stored
    assert node_of(template, "llm")["config"] == {k: v for k, v in LLM.items() if k != "api_key"}
    assert node_of(template, "prompt")["config"] == PROMPT
    assert node_of(template, "http_request")["config"]["headers"] == ["Accept: application/json"]
    assert {(i["node_id"], i["path"]) for i in template.inputs} == {
        (configured_flow.node_id("llm"), "api_key"),
        (configured_flow.node_id("http_request"), "headers"),
        (configured_flow.node_id("http_request"), "auth.token"),
    }
    detail = acme_admin.get(f"/templates/{template.template_id}/").content.decode()
    assert "Settings and required inputs" in detail and detail.count(">required<") == 3


def test_the_api_saves_a_flow_as_a_template(api_tokens, configured_flow, client):
    response = client.post(
        f"/api/flows/{configured_flow.flow_id}/template",
        json.dumps({"name": "Via API", "category": "sales", "visibility": "public"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=api_tokens["acme"],
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["moderation_status"] == "pending"  # public goes through moderation as usual
    assert len(body["inputs"]) == 3 and "sk-live" not in response.content.decode()


def test_the_api_refuses_another_tenants_flow_and_a_bad_body(api_tokens, configured_flow, client):
    url = f"/api/flows/{configured_flow.flow_id}/template"
    other = client.post(
        url,
        json.dumps({"name": "x", "category": "sales"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=api_tokens["globex"],
    )
    assert other.status_code == 404
    bad = client.post(
        url,
        json.dumps({"name": "x", "category": "nope"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=api_tokens["acme"],
    )
    assert bad.status_code == 422 and "category" in json.dumps(bad.json()["error"]["fields"])


def test_using_it_asks_for_the_secrets_and_creates_the_flow_with_the_settings(
    acme_admin, globex_admin, moderator, configured_flow, project_of
):
    template = template_of(save(acme_admin, configured_flow, visibility="public"))
    moderator.post(f"/templates/{template.template_id}/moderate/approve/", {"version": template.version})
    project = project_of("globex")
    fields = {i["path"]: f"input__{i['node_id']}__{i['path']}" for i in template.inputs}
    missing = globex_admin.post(f"/templates/{template.template_id}/use/", {"project_id": project.project_id})
    assert missing.status_code == 422 and "Required" in missing.content.decode()
    assert not [f for f in Flow.by_project.query(project.project_id) if f.source_template_id]
    response = globex_admin.post(
        f"/templates/{template.template_id}/use/",
        {
            "project_id": project.project_id,
            "name": "Globex triage",
            fields["api_key"]: "sk-globex-own-key-123",
            fields["headers"]: "Authorization: Bearer sk-globexheader999",
            fields["auth.token"]: "globex-token-1234",
        },
    )
    assert response.status_code == 302
    flow_id = response["Location"].strip("/").split("/")[-1]
    flow = Flow.get(flow_id)
    assert flow.tenant_id == "globex" and flow.source_template_id == template.template_id
    llm = NodeConfig.get(flow_id, configured_flow.node_id("llm")).config
    assert llm == {**LLM, "api_key": "sk-globex-own-key-123"}
    http = NodeConfig.get(flow_id, configured_flow.node_id("http_request")).config
    assert http["headers"] == ["Accept: application/json", "Authorization: Bearer sk-globexheader999"]
    assert http["auth"] == {"scheme": "bearer", "token": "globex-token-1234"}
    page = globex_admin.get(response["Location"]).content.decode()
    assert "Made from template" in page and template.template_id in page and "Update available" not in page


def test_a_newer_approved_version_is_offered_and_applied_keeping_own_settings(
    acme_admin, globex_admin, moderator, configured_flow, project_of, scopes
):
    template = template_of(save(acme_admin, configured_flow, visibility="public"))
    template = marketplace.moderate(scopes["moderator"], template.template_id, "approve")
    project = project_of("globex")
    inputs = {
        f"input__{i['node_id']}__{i['path']}": "Authorization: x-secret-value"
        if i["lines"]
        else "sk-globex-key-0001"
        for i in template.inputs
    }
    flow = marketplace.use_template(
        scopes["globex"], template.template_id, project.project_id, "Mine", inputs
    )
    llm_id = configured_flow.node_id("llm")
    mine = NodeConfig.get(flow.flow_id, llm_id)
    mine.config = {**mine.config, "temperature": 1.5}
    mine.save()

    definition = json.loads(json.dumps(template.definition))
    node_of_llm = next(n for n in definition["nodes"] if n["id"] == llm_id)
    node_of_llm["config"]["model"] = "claude-3-7-sonnet"
    definition["nodes"].append({"id": "extra", "type": "prompt", "label": "Follow-up", "config": PROMPT})
    definition["edges"].append({"id": "e-extra", "source": definition["nodes"][-2]["id"], "target": "extra"})
    data = {
        "name": template.name,
        "category": template.category,
        "visibility": "public",
        "definition": definition,
    }
    edited = marketplace.update_template(scopes["acme"], template.template_id, data, template.version)
    # Waiting for review, the new version is not offered yet.
    assert "Update available" not in globex_admin.get(f"/flows/{flow.flow_id}/").content.decode()
    approved = marketplace.moderate(
        scopes["moderator"], template.template_id, "approve", expected_version=edited.version
    )

    page = globex_admin.get(f"/flows/{flow.flow_id}/").content.decode()
    assert "Update available" in page
    assert "Node added" in page and "Follow-up" in page and "claude-3-7-sonnet" in page
    flow = Flow.get(flow.flow_id, consistent_read=True)
    response = globex_admin.post(
        f"/flows/{flow.flow_id}/template/update/",
        {"template_version": approved.version, "flow_version": flow.version},
    )
    assert response.status_code == 302
    nodes = {node.node_id for node in FlowNode.query(flow.flow_id)}
    assert "extra" in nodes
    assert NodeConfig.get(flow.flow_id, "extra").config == PROMPT
    kept = NodeConfig.get(flow.flow_id, llm_id).config
    assert kept["temperature"] == 1.5 and kept["model"] == "claude-3-5-haiku"  # own settings kept
    after = Flow.get(flow.flow_id, consistent_read=True)
    assert after.source_template_version == approved.version and after.node_count == len(definition["nodes"])
    assert "Update available" not in globex_admin.get(f"/flows/{flow.flow_id}/").content.decode()


def test_taking_the_templates_settings_replaces_own_but_keeps_own_secrets(
    globex_admin, configured_flow, project_of, scopes, acme_admin
):
    template = template_of(save(acme_admin, configured_flow))  # private: acme's own draft
    project = project_of("acme")
    inputs = {
        f"input__{i['node_id']}__{i['path']}": "Authorization: x-secret-value"
        if i["lines"]
        else "sk-acme-key-00001"
        for i in template.inputs
    }
    flow = marketplace.use_template(scopes["acme"], template.template_id, project.project_id, "Mine", inputs)
    llm_id = configured_flow.node_id("llm")
    mine = NodeConfig.get(flow.flow_id, llm_id)
    mine.config = {**mine.config, "temperature": 1.5}
    mine.save()
    definition = json.loads(json.dumps(template.definition))
    next(n for n in definition["nodes"] if n["id"] == llm_id)["config"]["max_tokens"] = 900
    data = {
        "name": template.name,
        "category": template.category,
        "visibility": "private",
        "definition": definition,
    }
    edited = marketplace.update_template(scopes["acme"], template.template_id, data, template.version)
    flow = Flow.get(flow.flow_id, consistent_read=True)
    response = acme_admin.post(
        f"/flows/{flow.flow_id}/template/update/",
        {"template_version": edited.version, "flow_version": flow.version, "take_template_settings": "on"},
    )
    assert response.status_code == 302, response.content.decode().split("template-update")[-1][:3000]
    taken = NodeConfig.get(flow.flow_id, llm_id).config
    assert taken["max_tokens"] == 900 and taken["temperature"] == 0.2
    assert taken["api_key"] == "sk-acme-key-00001"  # the secret the template leaves out stays the user's


def test_a_stale_apply_changes_nothing(acme_admin, configured_flow, project_of, scopes):
    template = template_of(save(acme_admin, configured_flow))
    flow = build_flow("acme", name=f"Plain {unique('x')}")
    response = acme_admin.post(
        f"/flows/{flow.flow_id}/template/update/", {"template_version": template.version, "flow_version": 1}
    )
    assert response.status_code == 302
    page = acme_admin.get(response["Location"]).content.decode()
    assert "no newer template version" in page
