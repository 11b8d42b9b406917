"""Registering a model and new versions: the forms and their validation."""

from dashboard.registry.models import MlModel, RegistryVersion
from tests.conftest import client_for, unique
from tests.registry.conftest import make_dataset

FORM = {
    "name": "churn-classifier",
    "task": "classification",
    "version": "1.0.0",
    "framework": "scikit-learn",
    "artifact_uri": "s3://models/churn/1.0.0/model.pkl",
    "parameters": '{"C": 1.0}',
    "metrics": "accuracy = 0.91\nf1 = 0.88\nlatency_p95_ms = 12",
}


def version_form(**changes):
    data = {
        "version": "1.1.0",
        "framework": "pytorch",
        "artifact_uri": "s3://models/x/1.1.0/model.pt",
        "metrics": "accuracy = 0.95",
    }
    data.update(changes)
    return data


def test_a_tenant_admin_registers_a_model_with_its_first_version(acme_admin, acme_project):
    dataset = make_dataset(acme_project)
    name = unique("churn")
    response = acme_admin.post(
        "/models/register/",
        {**FORM, "name": name, "project_id": acme_project.project_id, "dataset_id": dataset.dataset_id},
    )
    assert response.status_code == 302
    model_id = response["Location"].split("/")[2]
    model = MlModel.get(model_id)
    assert (model.name, model.tenant_id, model.latest_version) == (name, "acme", "1.0.0")
    version = RegistryVersion.get(model_id, "1.0.0")
    assert version.metrics == {"accuracy": 0.91, "f1": 0.88, "latency_p95_ms": 12}
    assert version.parameters == {"C": 1.0} and version.dataset_id == dataset.dataset_id
    assert version.created_by == "admin@acme.test"


def test_metric_values_must_be_numbers(acme_admin, acme_project):
    response = acme_admin.post(
        "/models/register/", {**FORM, "project_id": acme_project.project_id, "metrics": "accuracy = high"}
    )
    assert response.status_code == 422
    assert "“high” is not a number" in response.content.decode()


def test_a_version_must_be_semantic_or_an_integer(acme_admin, acme_project):
    name = unique("bad")
    response = acme_admin.post(
        "/models/register/",
        {**FORM, "name": name, "project_id": acme_project.project_id, "version": "v1-final"},
    )
    assert response.status_code == 422
    assert "semantic version" in response.content.decode()
    assert name not in acme_admin.get("/models/").content.decode()


def test_another_tenants_project_cannot_be_chosen(acme_admin, people):
    from tests.registry.conftest import make_project

    globex_project = make_project("globex")
    response = acme_admin.post("/models/register/", {**FORM, "project_id": globex_project.project_id})
    assert response.status_code == 422


def test_staff_must_pick_a_tenant_before_registering(people):
    page = client_for(people["staff"]).get("/models/register/").content.decode()
    assert "choose a tenant in the switcher" in page


def test_a_new_version_is_added_and_becomes_the_latest(acme_admin, register):
    model = register(versions=("1.0.0",))
    response = acme_admin.post(f"/models/{model.model_id}/versions/new/", version_form(version="1.10.0"))
    assert response.status_code == 302
    acme_admin.post(f"/models/{model.model_id}/versions/new/", version_form(version="1.9.0"))
    assert MlModel.get(model.model_id, consistent_read=True).latest_version == "1.10.0"


def test_a_version_is_unique_per_model(acme_admin, register):
    model = register(versions=("1.0.0",))
    response = acme_admin.post(f"/models/{model.model_id}/versions/new/", version_form(version="1.0.0"))
    assert response.status_code == 422
    assert (
        "already has a version 1.0.0" in response.content.decode()
        or "already exists" in response.content.decode()
    )


def test_integer_versions_only_go_up_and_do_not_mix_with_semantic_ones(acme_admin, register):
    model = register(versions=("3",))
    lower = acme_admin.post(f"/models/{model.model_id}/versions/new/", version_form(version="2"))
    assert lower.status_code == 422 and "above 3" in lower.content.decode()
    mixed = acme_admin.post(f"/models/{model.model_id}/versions/new/", version_form(version="4.0.0"))
    assert mixed.status_code == 422 and "increasing integers" in mixed.content.decode()
    assert (
        acme_admin.post(f"/models/{model.model_id}/versions/new/", version_form(version="4")).status_code
        == 302
    )


def test_parameters_must_be_a_json_object(acme_admin, register):
    model = register()
    response = acme_admin.post(f"/models/{model.model_id}/versions/new/", version_form(parameters="[1, 2"))
    assert response.status_code == 422 and "Not valid JSON" in response.content.decode()


def test_a_dataset_of_another_project_is_refused(acme_admin, register):
    from tests.registry.conftest import make_project

    model = register()
    foreign = make_dataset(make_project("acme", "Other"))
    response = acme_admin.post(
        f"/models/{model.model_id}/versions/new/", version_form(dataset_id=foreign.dataset_id)
    )
    assert response.status_code == 422


def test_other_tenants_cannot_add_versions(globex_admin, register):
    model = register()
    response = globex_admin.post(f"/models/{model.model_id}/versions/new/", version_form())
    assert response.status_code == 404
