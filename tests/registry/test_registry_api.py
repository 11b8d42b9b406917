"""The registry's JSON API: list and register, deploy, metrics; scoped to the key's tenant."""

import json

import pytest
from django.test import Client

from dashboard.apikeys import services as api_keys
from dashboard.registry import services
from tests.registry.conftest import make_dataset, make_project, version_data


@pytest.fixture
def api(scopes):
    """`api(tenant)` → a client whose requests carry a fresh API key of that tenant."""

    def make(tenant_id: str = "acme"):
        token = api_keys.create_key(scopes["staff"], tenant_id, "ci pipeline").token
        client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client

    return make


def send(client, method, url, body):
    return getattr(client, method)(url, data=json.dumps(body), content_type="application/json")


def test_it_lists_the_keys_tenant_only_with_a_cursor(api, register, scopes):
    project = make_project("acme", "API list")
    names = {register(project=project).name for _ in range(3)}
    foreign = register(scope=scopes["globex"], project=make_project("globex"))
    response = api("acme").get(f"/api/models/registry?project={project.project_id}")
    body = response.json()
    assert response.status_code == 200 and {item["name"] for item in body["items"]} == names
    assert body["next_cursor"] is None
    everything = api("acme").get("/api/models/registry").json()
    assert foreign.name not in {item["name"] for item in everything["items"]}


def test_the_list_pages_through_with_next_cursor(api, register, scopes):
    project = make_project("globex", "API paging")
    names = {register(scope=scopes["globex"], project=project).name for _ in range(26)}
    client = api("globex")
    first = client.get(f"/api/models/registry?project={project.project_id}").json()
    second = client.get(
        f"/api/models/registry?project={project.project_id}&cursor={first['next_cursor']}"
    ).json()
    assert {i["name"] for i in first["items"]} | {i["name"] for i in second["items"]} == names
    assert second["next_cursor"] is None


def test_it_filters_by_status(api, register, scopes):
    project = make_project("acme", "API status")
    quiet, busy = register(project=project), register(project=project)
    services.change_status(scopes["acme"], busy.model_id, "1.0.0", "deploying", "dev")
    items = api().get(f"/api/models/registry?project={project.project_id}&status=deploying").json()["items"]
    assert [item["model_id"] for item in items] == [busy.model_id]
    assert items[0]["environments"]["dev"]["pending"] == "1.0.0" and quiet.model_id


def test_post_registers_a_model_then_a_version(api, acme_project):
    client = api()
    dataset = make_dataset(acme_project)
    created = send(
        client,
        "post",
        "/api/models/registry",
        {
            "name": "ranker",
            "project_id": acme_project.project_id,
            **version_data("1.0.0", dataset_id=dataset.dataset_id),
        },
    )
    assert created.status_code == 201
    model_id = created.json()["model"]["model_id"]
    assert created.json()["version"]["dataset_id"] == dataset.dataset_id
    second = send(client, "post", "/api/models/registry", {"model_id": model_id, **version_data("1.1.0")})
    assert second.status_code == 201 and second.json()["model"]["latest_version"] == "1.1.0"


def test_post_explains_every_invalid_field(api, acme_project):
    response = send(
        api(),
        "post",
        "/api/models/registry",
        {
            "name": "",
            "project_id": acme_project.project_id,
            "version": "one",
            "framework": "pytorch",
            "artifact_uri": "not a uri",
            "metrics": {"accuracy": "high", "f1": True},
        },
    )
    assert response.status_code == 422
    error = response.json()["error"]
    # The shape is checked first, every field at once (the rules about names and versions come after).
    assert set(error["fields"]) >= {"artifact_uri", "metrics.accuracy", "metrics.f1"}
    assert "must be a number" in error["fields"]["metrics.accuracy"]


def test_post_refuses_a_duplicate_version(api, register):
    model = register()
    response = send(
        api(), "post", "/api/models/registry", {"model_id": model.model_id, **version_data("1.0.0")}
    )
    assert response.status_code == 422 and "already has a version" in response.json()["error"]["message"]


def test_post_refuses_a_dataset_of_another_project(api, register):
    model = register()
    foreign = make_dataset(make_project("acme", "Elsewhere"))
    response = send(
        api(),
        "post",
        "/api/models/registry",
        {"model_id": model.model_id, **version_data("2.0.0", dataset_id=foreign.dataset_id)},
    )
    assert response.status_code == 422 and "dataset_id" in response.json()["error"]["fields"]


def test_bad_json_is_a_400(api):
    response = api().post("/api/models/registry", data="{nope", content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_request"


def test_put_deploy_moves_a_version_through_the_state_machine(api, register):
    model = register()
    client = api()
    url = f"/api/models/{model.model_id}/deploy"
    started = send(client, "put", url, {"version": "1.0.0", "environment": "staging", "status": "deploying"})
    assert started.status_code == 200 and started.json()["version"]["status"] == "deploying"
    done = send(client, "put", url, {"version": "1.0.0", "environment": "staging", "status": "deployed"})
    assert done.json()["model"]["environments"]["staging"]["live"] == "1.0.0"
    illegal = send(client, "put", url, {"version": "1.0.0", "status": "failed"})
    assert illegal.status_code == 409 and illegal.json()["error"]["code"] == "illegal_transition"


def test_put_deploy_to_production_is_forbidden_for_a_key(api, register):
    model = register()
    response = send(
        api(),
        "put",
        f"/api/models/{model.model_id}/deploy",
        {"version": "1.0.0", "environment": "production", "status": "deploying"},
    )
    assert response.status_code == 403 and "production" in response.json()["error"]["message"]


def test_a_pipeline_key_reports_how_a_production_deploy_by_staff_ended(api, register, scopes):
    model = register()
    services.change_status(
        scopes["staff@acme"], model.model_id, "1.0.0", "deploying", "production", reason="release"
    )
    response = send(
        api(),
        "put",
        f"/api/models/{model.model_id}/deploy",
        {"version": "1.0.0", "environment": "production", "status": "deployed"},
    )
    assert response.status_code == 200 and response.json()["version"]["environment"] == "production"


def test_put_deploy_needs_version_and_status(api, register):
    model = register()
    response = send(api(), "put", f"/api/models/{model.model_id}/deploy", {"environment": "dev"})
    assert response.status_code == 422 and set(response.json()["error"]["fields"]) == {"version", "status"}


def test_another_tenants_model_is_404_everywhere(api, register):
    model = register()
    client = api("globex")
    assert client.get(f"/api/models/{model.model_id}/metrics").status_code == 404
    put = send(
        client, "put", f"/api/models/{model.model_id}/deploy", {"version": "1.0.0", "status": "retired"}
    )
    assert put.status_code == 404
    post = send(client, "post", "/api/models/registry", {"model_id": model.model_id, **version_data("2.0.0")})
    assert post.status_code == 404


def test_metrics_per_version_and_one_metric_across_versions(api, register):
    model = register(versions=("1.0.0", "1.10.0", "1.2.0"))
    client = api()
    every = client.get(f"/api/models/{model.model_id}/metrics").json()
    assert [v["version"] for v in every["versions"]] == ["1.0.0", "1.2.0", "1.10.0"]
    assert "accuracy" in every["metrics"]
    one = client.get(f"/api/models/{model.model_id}/metrics?metric=accuracy").json()
    assert [point["version"] for point in one["series"]] == ["1.0.0", "1.2.0", "1.10.0"]
    assert one["series"][0]["value"] == 0.9


def test_the_api_needs_a_key(register):
    assert Client().get("/api/models/registry").status_code == 401
