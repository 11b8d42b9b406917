"""The registry under hostile input and production rules (issue 12, rows 8, 9, 19)."""

from __future__ import annotations

import json

from dashboard.registry.models import MlModel, RegistryVersion
from tests.conftest import client_for, unique

FORM = {
    "task": "classification",
    "version": "1.0.0",
    "framework": "scikit-learn",
    "artifact_uri": "s3://models/churn/1.0.0/model.pkl",
    "metrics": "accuracy = 0.91",
}

# Production changes ask first and need a reason on the pages.
CONFIRMED = {"confirmed": "1", "reason": "release 1.0.0"}


def post(client, model, version, **data):
    return client.post(f"/models/{model.model_id}/versions/{version}/status/", data, follow=True)


def test_row19_a_tenant_admin_cannot_retire_a_version_whose_production_deploy_failed(people, register):
    model = register()
    staff = client_for(people["staff"])
    post(staff, model, "1.0.0", status="deploying", environment="production", **CONFIRMED)
    post(staff, model, "1.0.0", status="failed", **CONFIRMED)
    assert MlModel.get(model.model_id, consistent_read=True).environments["production"].failed == "1.0.0"
    body = post(client_for(people["admin of acme"]), model, "1.0.0", status="retired").content.decode()
    assert "Only Diatonic staff may change production" in body
    stored = MlModel.get(model.model_id, consistent_read=True)
    assert stored.environments["production"].failed == "1.0.0"
    assert RegistryVersion.get(model.model_id, "1.0.0", consistent_read=True).status == "failed"


def test_row19_staff_may_still_retire_it(people, register):
    model = register()
    staff = client_for(people["staff"])
    post(staff, model, "1.0.0", status="deploying", environment="production", **CONFIRMED)
    post(staff, model, "1.0.0", status="failed", **CONFIRMED)
    post(staff, model, "1.0.0", status="retired", **CONFIRMED)
    assert RegistryVersion.get(model.model_id, "1.0.0", consistent_read=True).status == "retired"


def test_row19_a_tenant_admin_still_retires_a_version_that_never_touched_production(acme_admin, register):
    model = register()
    post(acme_admin, model, "1.0.0", status="retired", confirmed="1")
    assert RegistryVersion.get(model.model_id, "1.0.0", consistent_read=True).status == "retired"


def test_row8_infinity_in_the_parameters_field_is_an_inline_error(acme_admin, acme_project):
    name = unique("inf")
    form = {**FORM, "name": name, "project_id": acme_project.project_id, "parameters": '{"lr": Infinity}'}
    response = acme_admin.post("/models/register/", form)
    assert response.status_code in (200, 422)
    assert "Infinity" in response.content.decode()
    assert not [m for m in MlModel.by_project.query(acme_project.project_id) if m.name == name]


def test_row7_deep_parameters_are_an_inline_error(acme_admin, acme_project):
    form = {**FORM, "name": unique("deep"), "project_id": acme_project.project_id, "parameters": "[" * 5000}
    response = acme_admin.post("/models/register/", form)
    assert response.status_code in (200, 422)
    assert "nests" in response.content.decode()


def test_row9_parameters_too_large_to_store_are_422_naming_them(people, acme_project):
    from dashboard.accounts.access import scope_for_user
    from dashboard.apikeys import services as api_keys

    token = api_keys.create_key(scope_for_user(people["staff"]), "acme", "registry size").token
    body = {
        **FORM,
        "name": unique("big"),
        "project_id": acme_project.project_id,
        "metrics": {"accuracy": 0.9},
        "parameters": {"vocabulary": "x" * 500_000},
    }
    response = client_for(people["admin of acme"]).post(
        "/api/models/registry",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 422, response.content
    assert list(response.json()["error"]["fields"]) == ["parameters"]
    assert not [m for m in MlModel.by_project.query(acme_project.project_id) if m.name == body["name"]]
