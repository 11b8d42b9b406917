"""What /api/openapi.json allows the server takes, and what the server refuses the document refuses too.

Each test sends one body both ways: to the document's own schema (jsonschema, formats checked) and to
the server. They are the cases schemathesis found where the two disagreed.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client
from jsonschema import Draft202012Validator, FormatChecker

from dashboard.core import clock
from dashboard.flows.models import Project
from tests.analytics.conftest import make_tenant
from tests.conftest import unique
from tests.marketplace.conftest import DEFINITION


@pytest.fixture(scope="module")
def document(dynamodb_local) -> dict:
    return Client().get("/api/openapi.json").json()


@pytest.fixture(scope="module")
def kit(people):
    kit = make_tenant(people, "Document tenant")
    now = clock.now()
    project = Project(
        project_id=unique("prj"), tenant_id=kit.tenant_id, name="Doc", created_at=now, updated_at=now
    )
    project.save()
    kit.project_id = project.project_id
    return kit


def _send(kit, method: str, url: str, body) -> tuple[int, dict]:
    response = getattr(Client(), method)(
        url, data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {kit.token}"
    )
    return response.status_code, (response.json() if response.content else {})


def _allows(document: dict, path: str, method: str, body) -> bool:
    """Whether the document's request body schema for this operation allows `body`."""
    schema = document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    root = {**schema, "components": document["components"]}
    return Draft202012Validator(root, format_checker=FormatChecker()).is_valid(body)


@pytest.fixture(scope="module")
def experiment_run(kit) -> tuple[str, str]:
    status, experiment = _send(kit, "post", "/api/experiments", {"project_id": kit.project_id, "name": "doc"})
    assert status == 201, experiment
    status, run = _send(kit, "post", f"/api/experiments/{experiment['experiment_id']}/runs", {"name": "r"})
    assert status == 201, run
    return experiment["experiment_id"], run["run_id"]


def test_a_whole_number_written_with_a_fraction_is_taken_as_that_number(document, kit, experiment_run):
    """JSON Schema's `integer` is any number without a fractional part: 561.0 is one."""
    experiment_id, run_id = experiment_run
    url = f"/api/experiments/{experiment_id}/runs/{run_id}/metrics"
    path = "/api/experiments/{experiment_id}/runs/{run_id}/metrics"
    whole = {"points": [{"name": "loss", "value": 0.5, "step": 561.0}]}
    assert _allows(document, path, "post", whole)
    status, answer = _send(kit, "post", url, whole)
    assert status == 201, answer
    status, curve = kit.get(url, metric="loss")
    assert status == 200 and curve["points"] == [[561, 0.5]], curve

    fraction = {"points": [{"name": "loss", "value": 0.5, "step": 1.5}]}
    assert not _allows(document, path, "post", fraction)
    status, answer = _send(kit, "post", url, fraction)
    assert status == 422 and answer["error"]["fields"] == {"points[0].step": "must be a whole number."}


@pytest.mark.parametrize(
    "parameters", [{"note": "a\x00b"}, {"a\x00b": 1}, {"deep": [{"list": ["fine", "not\x00fine"]}]}]
)
def test_nul_anywhere_in_a_body_is_refused_by_both(document, kit, experiment_run, parameters):
    experiment_id, _ = experiment_run
    body = {"name": "r", "parameters": parameters}
    assert not _allows(document, "/api/experiments/{experiment_id}/runs", "post", body)
    status, answer = _send(kit, "post", f"/api/experiments/{experiment_id}/runs", body)
    assert status == 422 and "NUL" in answer["error"]["message"]
    clean = {"name": "r", "parameters": {"deep": [{"list": ["fine", "é"]}], "n": 1.5}}
    assert _allows(document, "/api/experiments/{experiment_id}/runs", "post", clean)


@pytest.mark.parametrize("run_id", ["Ç", "run 1", "a/b"])
def test_a_client_chosen_run_id_is_what_the_run_service_takes(document, kit, experiment_run, run_id):
    experiment_id, _ = experiment_run
    body = {"name": "r", "run_id": run_id}
    assert not _allows(document, "/api/experiments/{experiment_id}/runs", "post", body)
    status, answer = _send(kit, "post", f"/api/experiments/{experiment_id}/runs", body)
    assert status == 422 and "run_id" in answer["error"]["fields"], answer
    good = {"name": "r", "run_id": "run-1.a:b_c"}
    assert _allows(document, "/api/experiments/{experiment_id}/runs", "post", good)
    assert _send(kit, "post", f"/api/experiments/{experiment_id}/runs", good)[0] == 201


@pytest.mark.parametrize("tags", [["Triage"], [" triage"], ["tri age"], [f"t{n}" for n in range(9)]])
def test_template_tags_are_taken_exactly_as_the_document_states_them(document, kit, tags):
    body = {"name": "Doc tpl", "category": "engineering", "definition": DEFINITION, "tags": tags}
    assert not _allows(document, "/api/templates", "post", body)
    status, answer = _send(kit, "post", "/api/templates", body)
    assert status == 422 and any(field.startswith("tags") for field in answer["error"]["fields"]), answer
    good = {**body, "tags": ["triage", "rag-2"]}
    assert _allows(document, "/api/templates", "post", good)
    status, answer = _send(kit, "post", "/api/templates", good)
    assert status == 201 and sorted(answer["tags"]) == ["rag-2", "triage"], answer


def test_the_documented_template_example_is_accepted(document, kit):
    """The example the document shows (and schemathesis sends first) used a node type that does not exist."""
    for method, url in (("post", "/api/templates"),):
        example = document["paths"][url][method]["requestBody"]["content"]["application/json"]["example"]
        status, answer = _send(kit, method, url, example)
        assert status == 201, answer


def test_days_in_queries_are_dates_and_a_date_that_is_not_one_is_refused(document, kit):
    for path in ("/api/agents/{agent_id}/runs", "/api/analytics/execution"):
        parameters = {p["name"]: p["schema"] for p in document["paths"][path]["get"]["parameters"]}
        assert parameters["start"]["format"] == parameters["end"]["format"] == "date", path
    assert not FormatChecker().conforms("0000-00-00", "date")
    status, answer = kit.get("/api/analytics/execution", start="0000-00-00")
    assert status == 422 and "start" in answer["error"]["fields"]
    status, _ = kit.get("/api/analytics/execution", start="2026-01-01", end="2026-01-31")
    assert status == 200


def test_a_tenant_key_on_a_prices_key_endpoint_is_told_which_key_it_needs(kit):
    status, answer = _send(kit, "post", "/api/prices", {"model": "m", "effective_from": "2026-12-01"})
    assert status == 403
    assert answer["error"]["message"] == "This endpoint takes the platform's prices key, not a tenant's key."


@pytest.mark.parametrize(
    ("signal", "message"), [("traces", "ExportTraceServiceRequest"), ("logs", "ExportLogsServiceRequest")]
)
def test_the_otlp_examples_fit_their_schema_and_an_any_value_sets_one_field(document, kit, signal, message):
    """Nanosecond times have 19 digits (the schema once allowed 18); an AnyValue is a oneof."""
    operation = document["paths"][f"/api/otel/v1/{signal}"]["post"]
    media = operation["requestBody"]["content"]["application/json"]
    root = {**media["schema"], "components": document["components"]}
    assert Draft202012Validator(root).is_valid(media["example"])
    any_value = Draft202012Validator(
        {"$ref": "#/components/schemas/OtlpAnyValue", **{"components": document["components"]}}
    )
    assert any_value.is_valid({"stringValue": "x", "boolValue": None})
    assert any_value.is_valid({})
    two = {"stringValue": "x", "boolValue": True}
    assert not any_value.is_valid(two)
    body = json.loads(json.dumps(media["example"]))
    records = (
        body["resourceSpans"][0]["scopeSpans"][0]["spans"]
        if signal == "traces"
        else (body["resourceLogs"][0]["scopeLogs"][0]["logRecords"])
    )
    records[0]["attributes"] = [{"key": "k", "value": two}]
    response = Client().post(
        f"/api/otel/v1/{signal}",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {kit.token}",
    )
    assert response.status_code == 400 and "multiple" in response.json()["message"]


def _answer_fits(document: dict, path: str, method: str, status: int, body) -> list[str]:
    """Why `body` is not what the document says this operation answers with `status` (empty: it is)."""
    media = document["paths"][path][method]["responses"][str(status)]["content"]["application/json"]
    root = {**media["schema"], "components": document["components"]}
    return [error.message for error in Draft202012Validator(root).iter_errors(body)]


def test_the_answers_are_the_documented_models(document, kit):
    """The views serialise through the document's *Out models: what the server answers fits them."""
    model = {
        "name": unique("doc-model"),
        "project_id": kit.project_id,
        "version": "1.0.0",
        "framework": "onnx",
        "artifact_uri": "s3://m/1.0.0",
        "metrics": {"auc": 0.9, "rows": 12},
    }
    status, registered = _send(kit, "post", "/api/models/registry", model)
    assert status == 201 and registered["version"]["metrics"] == {"auc": 0.9, "rows": 12}, registered
    assert not _answer_fits(document, "/api/models/registry", "post", 201, registered)
    run = {"execution_id": unique("exe"), "user_id": "u1", "model": "gpt-4o-mini", "status": "succeeded"}
    run["duration_ms"] = 1200
    run["started_at"] = clock.now().isoformat()
    status, recorded = _send(kit, "post", "/api/agents/doc-agent/runs", run)
    assert status == 201, recorded
    assert not _answer_fits(document, "/api/agents/{agent_id}/runs", "post", 201, recorded)
    for path, url in (
        ("/api/models/registry", "/api/models/registry"),
        ("/api/models/{model_id}/metrics", f"/api/models/{registered['model']['model_id']}/metrics"),
        ("/api/agents/{agent_id}/runs", "/api/agents/doc-agent/runs"),
        ("/api/analytics/execution", "/api/analytics/execution"),
        ("/api/templates", "/api/templates"),
        ("/api/nodes/types", "/api/nodes/types"),
        ("/api/me", "/api/me"),
    ):
        status, answer = kit.get(url)
        assert status == 200, (url, answer)
        assert not _answer_fits(document, path, "get", 200, answer), (url, answer)


def test_a_view_answering_an_undocumented_model_is_a_bug_not_an_answer():
    from dashboard.api.analytics import RUNS, RunsPage
    from dashboard.api.auth import Answer
    from dashboard.api.views import Me

    assert Answer(RunsPage(runs=[], next_cursor=None)).response(RUNS["GET"]).status_code == 200
    with pytest.raises(TypeError):
        Answer(Me(tenant_id="acme", key_id="k", role="api")).response(RUNS["GET"])
