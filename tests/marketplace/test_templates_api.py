import json

import pytest
from django.test import Client

from dashboard.marketplace.models import AgentTemplate
from tests.marketplace.conftest import DEFINITION, word


def body(**overrides) -> dict:
    data = {
        "name": f"API template {word()}",
        "description": "Made through the API.",
        "category": "engineering",
        "tags": ["ci", "review"],
        "visibility": "private",
        "definition": DEFINITION,
    }
    data.update(overrides)
    return data


def post(client, url, data):
    return client.post(url, json.dumps(data), content_type="application/json")


def put(client, url, data):
    return client.put(url, json.dumps(data), content_type="application/json")


def test_a_key_creates_reads_updates_and_deletes_its_template(api_client):
    client = api_client("acme")
    created = post(client, "/api/templates", body())
    assert created.status_code == 201
    template = created.json()
    assert (
        template["tenant_id"] == "acme"
        and template["version"] == 1
        and template["moderation_status"] == "draft"
    )
    url = f"/api/templates/{template['id']}"
    assert client.get(url).json()["definition"]["nodes"][0]["id"] == "n1"
    updated = put(client, url, body(name="Renamed", version=1))
    assert (
        updated.status_code == 200 and updated.json()["name"] == "Renamed" and updated.json()["version"] == 2
    )
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404


def test_the_list_filters_and_pages_with_a_cursor(api_client, make_template):
    token = word()
    made = {make_template("acme", state="approved", name=f"Paged {token} {i}").template_id for i in range(5)}
    client = api_client("globex")
    seen, cursor = [], None
    for _ in range(5):
        params = {"q": token, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/templates", params).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(made)
    assert client.get("/api/templates", {"category": "nope"}).status_code == 422


def test_a_key_never_reads_another_tenants_private_template(api_client, make_template):
    private = make_template("acme")
    client = api_client("globex")
    response = client.get(f"/api/templates/{private.template_id}")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert private.template_id not in json.dumps(
        client.get("/api/templates", {"sort": "newest", "limit": 100}).json()
    )
    assert put(client, f"/api/templates/{private.template_id}", body(version=1)).status_code == 404
    assert client.delete(f"/api/templates/{private.template_id}").status_code == 404
    assert AgentTemplate.get(private.template_id).name == private.name


def test_a_key_cannot_change_another_tenants_public_template(api_client, make_template):
    public = make_template("acme", state="approved")
    client = api_client("globex")
    assert client.get(f"/api/templates/{public.template_id}").status_code == 200
    response = put(client, f"/api/templates/{public.template_id}", body(version=public.version))
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"


def test_bad_flow_json_gives_field_level_errors_and_writes_nothing(api_client):
    client = api_client("acme")
    name = f"Broken {word()}"
    definition = {
        "nodes": [{"id": "n1", "type": "llm"}, {"id": "n2", "type": "magic"}],
        "edges": [{"source": "n1", "target": "n9"}],
    }
    response = post(client, "/api/templates", body(name=name, definition=definition))
    assert response.status_code == 422
    fields = response.json()["error"]["fields"]
    assert "definition.nodes[1].type" in fields and "definition.edges[0].target" in fields
    assert [t for t in AgentTemplate.by_tenant.query("acme", limit=500) if t.name == name] == []


def test_fields_of_the_wrong_type_are_named_not_a_500(api_client):
    response = post(
        api_client("acme"),
        "/api/templates",
        body(name=7, category=["x"], visibility=["public"], tags=3, definition=5),
    )
    assert response.status_code == 422
    assert set(response.json()["error"]["fields"]) == {"name", "category", "visibility", "tags", "definition"}


@pytest.mark.parametrize("payload", ["{not json", "[1, 2]", ""])
def test_a_body_that_is_not_a_json_object_is_a_4xx(api_client, payload):
    response = api_client("acme").post("/api/templates", payload, content_type="application/json")
    assert response.status_code in (400, 422) and "error" in response.json()


def test_an_update_needs_the_version_and_a_stale_one_is_a_409(api_client, make_template):
    template = make_template("acme")
    client = api_client("acme")
    url = f"/api/templates/{template.template_id}"
    missing = put(client, url, body())
    assert missing.status_code == 422 and "version" in missing.json()["error"]["fields"]
    assert put(client, url, body(name="First", version=template.version)).status_code == 200
    stale = put(client, url, body(name="Second", version=template.version))
    assert stale.status_code == 409 and "Someone else changed" in stale.json()["error"]["message"]
    assert client.get(url).json()["name"] == "First"


def test_use_through_the_api(api_client, make_template, project_of):
    template = make_template("globex", state="approved")
    project = project_of("acme")
    client = api_client("acme")
    response = post(client, f"/api/templates/{template.template_id}/use", {"project_id": project.project_id})
    assert response.status_code == 201 and response.json()["node_count"] == 4
    bad = post(client, f"/api/templates/{template.template_id}/use", {"project_id": "prj_nope"})
    assert bad.status_code == 422 and "project_id" in bad.json()["error"]["fields"]


def test_without_a_key_the_api_answers_401_and_wrong_methods_405(api_client):
    assert Client().get("/api/templates").status_code == 401
    assert api_client("acme").patch("/api/templates").status_code == 405
