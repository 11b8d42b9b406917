"""POST /api/experiments and GET /api/experiments: a training job creates its experiment, then logs to it."""

from dashboard.audit.models import AuditEvent
from dashboard.core import clock
from dashboard.flows.models import Project
from tests.conftest import unique


def make_project(tenant_id: str) -> Project:
    now = clock.now()
    project = Project(
        project_id=unique("prj"), tenant_id=tenant_id, name="Vision", created_at=now, updated_at=now
    )
    project.save()
    return project


def test_a_client_creates_an_experiment_lists_it_and_writes_its_logs(acme_api):
    project = make_project("acme")
    created = acme_api.post("/api/experiments", {"project_id": project.project_id, "name": "Sweep A"})
    assert created.status_code == 201
    experiment_id = created.json()["experiment_id"]
    listed = acme_api.get("/api/experiments", limit=5).json()["experiments"]
    assert listed[0]["experiment_id"] == experiment_id and listed[0]["name"] == "Sweep A"
    run = acme_api.post(f"/api/experiments/{experiment_id}/runs", {"run_id": "r1"})
    assert run.status_code == 201
    line = {"run_id": "r1", "severity": "info", "message": "epoch 1", "ts": clock.epoch_ms()}
    assert acme_api.post(f"/api/experiments/{experiment_id}/logs", line).status_code == 201
    events = [
        e
        for e in AuditEvent.query("acme", scan_index_forward=False, limit=50)
        if e.target_id == experiment_id
    ]
    assert [e.action for e in events] == ["experiment.create"]


def test_a_retry_with_the_clients_id_returns_the_same_experiment(acme_api):
    project = make_project("acme")
    body = {"project_id": project.project_id, "name": "Nightly", "experiment_id": unique("job")}
    first = acme_api.post("/api/experiments", body).json()
    again = acme_api.post("/api/experiments", body)
    assert again.status_code == 201 and again.json() == first
    other = acme_api.post("/api/experiments", {**body, "name": "Something else"})
    assert other.status_code == 409 and other.json()["error"]["fields"] == {"experiment_id": "taken"}


def test_two_tenants_may_use_the_same_experiment_id_without_touching_each_other(acme_api, globex_api):
    globex_project = make_project("globex")
    shared = unique("job")
    made = globex_api.post(
        "/api/experiments", {"project_id": globex_project.project_id, "name": "G", "experiment_id": shared}
    )
    assert made.status_code == 201
    acme_project = make_project("acme")
    mine = acme_api.post(
        "/api/experiments", {"project_id": acme_project.project_id, "name": "A", "experiment_id": shared}
    )
    assert mine.status_code == 201 and mine.json()["project_id"] == acme_project.project_id
    acme_list = acme_api.get("/api/experiments", limit=50).json()["experiments"]
    globex_list = globex_api.get("/api/experiments", limit=50).json()["experiments"]
    assert [e["name"] for e in acme_list if e["experiment_id"] == shared] == ["A"]
    assert [e["name"] for e in globex_list if e["experiment_id"] == shared] == ["G"]


def test_another_tenants_project_gives_nothing_away(acme_api):
    globex_project = make_project("globex")
    foreign = acme_api.post("/api/experiments", {"project_id": globex_project.project_id, "name": "Mine now"})
    assert foreign.status_code == 404 and "globex" not in foreign.content.decode().lower()


def test_bad_bodies_name_the_field_and_write_nothing(acme_api):
    project = make_project("acme")
    cases = [
        ({"project_id": project.project_id}, "name"),
        ({"project_id": project.project_id, "name": "x" * 121}, "name"),
        ({"project_id": project.project_id, "name": 7}, "name"),
        ({"name": "No project"}, "project_id"),
        ({"project_id": project.project_id, "name": "Bad id", "experiment_id": "a#b"}, "experiment_id"),
        ({"project_id": project.project_id, "name": "Bad text", "description": ["x"]}, "description"),
    ]
    for body, field in cases:
        response = acme_api.post("/api/experiments", body)
        assert 400 <= response.status_code < 500 and field in response.json()["error"]["fields"], body
    not_an_object = acme_api.post("/api/experiments", ["not", "an", "object"])
    assert not_an_object.status_code == 422 and "body" in not_an_object.json()["error"]["fields"]
    too_many = acme_api.get("/api/experiments", limit=51)
    assert too_many.status_code == 422 and "limit" in too_many.json()["error"]["fields"]


def test_a_run_id_that_is_not_text_is_a_clear_error(acme_api):
    project = make_project("acme")
    experiment = acme_api.post("/api/experiments", {"project_id": project.project_id, "name": "E"}).json()
    for bad in (123, ["a"], {"a": 1}, True):
        response = acme_api.post(f"/api/experiments/{experiment['experiment_id']}/runs", {"run_id": bad})
        assert response.status_code == 422 and "run_id" in response.json()["error"]["fields"]


def test_run_parameters_too_large_to_store_are_a_422_naming_the_field(acme_api):
    project = make_project("acme")
    experiment = acme_api.post("/api/experiments", {"project_id": project.project_id, "name": "Big"}).json()
    runs = f"/api/experiments/{experiment['experiment_id']}/runs"
    response = acme_api.post(runs, {"run_id": "huge", "parameters": {"blob": "x" * 500_000}})
    assert response.status_code in (413, 422)
    if response.status_code == 422:
        assert "parameters" in " ".join(response.json()["error"]["fields"])
    assert acme_api.get(f"{runs}/huge/logs").status_code == 404  # nothing was written
