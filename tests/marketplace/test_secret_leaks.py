"""Issue 34, point 1: no credential of a template's author reaches the saved template, the moderator's
review, another tenant's `GET /api/templates/{id}` or the flow another tenant makes from it; what was
taken out is asked for on use, through the page and the API alike; `rescan_templates` re-strips templates
published before, audited, and changes nothing the second time."""

from __future__ import annotations

import copy
import json

import pytest
from django.core.management import call_command

from dashboard.audit.models import AuditEvent
from dashboard.flows.models import FlowSnapshot, NodeConfig
from dashboard.marketplace.models import AgentTemplate
from tests.marketplace.conftest import DEFINITION, word

HTTP = {"method": "POST", "url": "https://api.example.com/v1/tickets", "timeout_seconds": 12}
PROMPT = {"role": "user", "template": "Answer {{question}} kindly.", "variables": ["question"]}
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)

# kind → (node id in DEFINITION, its settings holding the secret, the secret)
SECRETS = {
    "basic auth header": ("n2", {**HTTP, "headers": ["Accept: application/json", "Authorization: Basic dXNlcjpodW50ZXIy"]}, "dXNlcjpodW50ZXIy"),
    "token auth header": ("n2", {**HTTP, "headers": ["Authorization: Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"]}, "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"),
    "x-api-key header": ("n2", {**HTTP, "headers": ["X-Api-Key: 7f3c9a1e5b2d4c6a8e0f"]}, "7f3c9a1e5b2d4c6a8e0f"),
    "cookie header": ("n2", {**HTTP, "headers": ["Cookie: session=3b1f5e9c7a2d4f6b"]}, "3b1f5e9c7a2d4f6b"),
    "url userinfo": ("n2", {**HTTP, "url": "https://bob:Hunter2pw9@db.example.com/v1/items"}, "Hunter2pw9"),
    "url api_key query": ("n2", {**HTTP, "url": "https://api.example.com/v1/items?api_key=q8w7e6r5t4y3u2"}, "q8w7e6r5t4y3u2"),
    "slack webhook": ("n4", {"format": "markdown", "webhook_url": "https://hooks.slack.com/services/T0123ABCD/B0456EFGH/aBcDeFgHiJkLmNoPqRsTuVwX"}, "aBcDeFgHiJkLmNoPqRsTuVwX"),
    "password in prompt": ("n1", {**PROMPT, "template": "Log in with password=Tr0ub4dorX3 then answer {{question}}"}, "Tr0ub4dorX3"),
    "jwt in body": ("n2", {**HTTP, "body_template": json.dumps({"session": JWT, "q": "{{question}}"})}, JWT.split(".")[2]),
    "google key in prompt": ("n1", {**PROMPT, "template": "Use maps key AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW for {{question}}"}, "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW"),
    "aws key in body": ("n2", {**HTTP, "body_template": '{"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE"}'}, "AKIAIOSFODNN7EXAMPLE"),
    "stripe key in body": ("n2", {**HTTP, "body_template": "stripe=sk_live_4eC39HqLyjWDarjtT1zdp7dc"}, "4eC39HqLyjWDarjtT1zdp7dc"),
    "github_pat in prompt": ("n1", {**PROMPT, "template": "Clone with github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ for {{question}}"}, "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ"),
}  # fmt: skip
# What the user of the template supplies, per setting the secret was in.
OWN = {
    "headers": "Accept: text/plain",
    "url": "https://api.example.com/v1/mine",
    "webhook_url": "https://hooks.example.com/mine",
    "template": "Answer {{question}} in one line.",
    "body_template": '{"q": "{{question}}"}',
}


def definition_with(node_id: str, config: dict) -> dict:
    definition = copy.deepcopy(DEFINITION)
    node = next(node for node in definition["nodes"] if node["id"] == node_id)
    node["type"] = {"n1": "prompt", "n2": "http_request", "n4": "output"}[node_id]
    node["config"] = copy.deepcopy(config)
    return definition


@pytest.mark.parametrize("kind", list(SECRETS))
def test_no_secret_survives_into_the_template_the_review_the_api_or_a_used_flow(
    kind, api_client, moderator, project_of
):
    node_id, config, secret = SECRETS[kind]
    body = {"name": f"Leaky {word()}", "category": "engineering", "visibility": "public"}
    body["definition"] = definition_with(node_id, config)
    created = api_client("acme").post("/api/templates", json.dumps(body), content_type="application/json")
    assert created.status_code == 201, created.content
    assert secret not in created.content.decode()
    template = AgentTemplate.get(created.json()["id"], consistent_read=True)
    assert secret not in json.dumps(template.definition)
    assert [item["node_id"] for item in template.inputs] == [node_id]

    review = moderator.get(f"/templates/{template.template_id}/").content.decode()
    assert secret not in review and template.name in review
    approved = moderator.post(
        f"/templates/{template.template_id}/moderate/approve/", {"version": template.version}
    )
    assert approved.status_code == 302

    globex = api_client("globex")
    read = globex.get(f"/api/templates/{template.template_id}")
    assert read.status_code == 200 and secret not in read.content.decode()
    (item,) = read.json()["inputs"]

    project = project_of("globex")
    used = globex.post(
        f"/api/templates/{template.template_id}/use",
        json.dumps({"project_id": project.project_id, "inputs": {item["field"]: OWN[item["path"]]}}),
        content_type="application/json",
    )
    assert used.status_code == 201, used.content
    flow_id = used.json()["flow_id"]
    stored = json.dumps([c.config for c in NodeConfig.query(flow_id)])
    stored += json.dumps([s.definition for s in FlowSnapshot.query(flow_id)])
    assert secret not in stored
    mine = NodeConfig.get(flow_id, node_id).config
    assert OWN[item["path"]] in json.dumps(mine) or OWN[item["path"]] in mine[item["path"]]


def test_the_api_uses_a_template_with_inputs_and_names_a_missing_one(api_client, make_template, project_of):
    node_id, config, _secret = SECRETS["x-api-key header"]
    template = make_template("acme", state="approved", definition=definition_with(node_id, config))
    client, project = api_client("globex"), project_of("globex")
    url = f"/api/templates/{template.template_id}/use"
    missing = client.post(
        url, json.dumps({"project_id": project.project_id}), content_type="application/json"
    )
    assert missing.status_code == 422
    assert list(missing.json()["error"]["fields"]) == [f"input__{node_id}__headers"]
    bad = client.post(
        url,
        json.dumps({"project_id": project.project_id, "inputs": ["x"]}),
        content_type="application/json",
    )
    assert bad.status_code in (400, 422)
    used = client.post(
        url,
        json.dumps(
            {
                "project_id": project.project_id,
                "inputs": {f"input__{node_id}__headers": "X-Api-Key: mine-123456"},
            }
        ),
        content_type="application/json",
    )
    assert used.status_code == 201, used.content
    assert NodeConfig.get(used.json()["flow_id"], node_id).config["headers"] == ["X-Api-Key: mine-123456"]


def _rescans(template_id: str) -> list[AuditEvent]:
    return [
        event
        for event in AuditEvent.query("acme", scan_index_forward=False, limit=500)
        if event.action == "template.rescan" and event.target_id == template_id
    ]


def test_rescan_templates_re_strips_what_was_published_before_once_and_audits_it(make_template, moderator):
    template = make_template("acme", state="approved")
    # As stored before today's detection: a Basic header and a password in a prompt, in the definition
    # and in the snapshot the moderator approved.
    leaky = definition_with("n2", SECRETS["basic auth header"][1])
    leaky["nodes"][0]["type"], leaky["nodes"][0]["config"] = "prompt", SECRETS["password in prompt"][1]
    snapshot = {**template.approved_snapshot, "definition": leaky}
    template.update(
        actions=[AgentTemplate.definition.set(leaky), AgentTemplate.approved_snapshot.set(snapshot)]
    )
    before = AgentTemplate.get(template.template_id, consistent_read=True)

    call_command("rescan_templates", stdout=open("/dev/null", "w"))  # noqa: SIM115
    after = AgentTemplate.get(template.template_id, consistent_read=True)
    stored = json.dumps([after.definition, after.approved_snapshot])
    assert "dXNlcjpodW50ZXIy" not in stored and "Tr0ub4dorX3" not in stored
    assert {(i["node_id"], i["path"]) for i in after.inputs} == {("n2", "headers"), ("n1", "template")}
    assert after.version == before.version + 1 and after.is_listed
    (event,) = _rescans(template.template_id)
    assert (
        "n2.headers" in event.changes["secrets_removed"] and "n1.template" in event.changes["secrets_removed"]
    )
    review = moderator.get(f"/templates/{template.template_id}/").content.decode()
    assert "since-approved" not in review  # the re-strip is not an author's change to review again

    call_command("rescan_templates", "--all", stdout=open("/dev/null", "w"))  # noqa: SIM115
    again = AgentTemplate.get(template.template_id, consistent_read=True)
    assert again.version == after.version and len(_rescans(template.template_id)) == 1
