"""Lineage: a version names the run that produced it (its final metrics offered) and its dataset;
the model page links to the run, the run's page to the versions it produced."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from dashboard.apikeys import services as api_keys
from dashboard.core.errors import ValidationFailed
from dashboard.experiments import services as experiments
from dashboard.flows.models import Project
from dashboard.registry import queries, services
from tests.conftest import element_by_id, unique
from tests.experiments.conftest import api_scope
from tests.registry.conftest import make_dataset, version_data


@pytest.fixture
def trained_run(acme_project):
    scope = api_scope("acme")
    experiment = experiments.create_experiment(scope, acme_project.project_id, "churn sweep")
    run = experiments.start_run(scope, experiment.experiment_id, name="trial 7", parameters={"lr": 0.01})
    experiments.record_metrics(
        scope,
        experiment.experiment_id,
        run.run_id,
        {"points": [{"step": 1, "name": "auc", "value": 0.81}, {"step": 2, "name": "auc", "value": 0.88}]},
    )
    return run


def test_a_version_from_a_run_takes_its_final_metrics_and_both_pages_link(
    register, scopes, acme_admin, trained_run
):
    model = register()
    run = trained_run
    version = services.register_version(
        scopes["acme"],
        model.model_id,
        version_data("1.1.0", metrics={}, experiment_id=run.experiment_id, run_id=run.run_id),
    )
    assert version.metrics == {"auc": 0.88}
    assert [v.version for v in queries.versions_from_run("acme", run.experiment_id, run.run_id)] == ["1.1.0"]
    page = acme_admin.get(f"/models/{model.model_id}/").content.decode()
    row = re.search(r'<tr data-version="1.1.0">.*?</tr>', page, re.S).group(0)
    assert f'href="/experiments/{run.experiment_id}/runs/{run.run_id}/logs/"' in row
    run_page = acme_admin.get(f"/experiments/{run.experiment_id}/runs/{run.run_id}/logs/").content.decode()
    produced = element_by_id(run_page, "run-versions")
    assert f'href="/models/{model.model_id}/#versions"' in produced and "1.1.0" in produced


def test_the_form_offers_the_runs_metrics_and_registers_with_the_run(register, acme_admin, trained_run):
    model = register()
    run = trained_run
    choice = f"{run.experiment_id}/{run.run_id}"
    offered = acme_admin.get(f"/models/{model.model_id}/versions/new/", {"run": choice}).content.decode()
    assert "auc = 0.88" in offered and f'value="{choice}" selected' in offered
    data = {
        "version": "2.0.0",
        "framework": "pytorch",
        "artifact_uri": "s3://m/2.0.0",
        "run": choice,
        "metrics": "auc = 0.88",
    }
    button = acme_admin.post(
        f"/models/{model.model_id}/versions/new/", {**data, "metrics": "", "action": "offer_metrics"}
    )
    assert button.status_code == 200 and "auc = 0.88" in button.content.decode()
    assert "2.0.0" not in [v.version for v in queries.model_versions(model)]
    saved = acme_admin.post(f"/models/{model.model_id}/versions/new/", data)
    assert saved.status_code == 302
    version = queries.get_version(model, "2.0.0")
    assert (version.experiment_id, version.run_id, version.metrics) == (
        run.experiment_id,
        run.run_id,
        {"auc": 0.88},
    )


def test_another_tenants_run_or_half_a_run_is_refused_and_nothing_is_registered(
    register, scopes, trained_run
):
    model = register()
    globex = Project(
        project_id=unique("prj"),
        tenant_id="globex",
        name="G",
        created_at=model.created_at,
        updated_at=model.created_at,
    )
    globex.save()
    foreign = experiments.create_experiment(api_scope("globex"), globex.project_id, "theirs")
    foreign_run = experiments.start_run(api_scope("globex"), foreign.experiment_id, name="x")
    with pytest.raises(ValidationFailed) as refused:
        services.register_version(
            scopes["acme"],
            model.model_id,
            version_data("1.2.0", experiment_id=foreign.experiment_id, run_id=foreign_run.run_id),
        )
    assert "run_id" in refused.value.fields
    with pytest.raises(ValidationFailed) as half:
        services.register_version(
            scopes["acme"], model.model_id, version_data("1.2.0", run_id=trained_run.run_id)
        )
    assert "experiment_id" in half.value.fields
    assert [v.version for v in queries.model_versions(model)] == ["1.0.0"]


def test_the_api_registers_lineage_and_answers_it(scopes, acme_project, trained_run):
    token = api_keys.create_key(scopes["staff"], "acme", "lineage pipeline").token
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    dataset = make_dataset(acme_project)
    body = {
        "name": unique("churn"),
        "project_id": acme_project.project_id,
        "task": "classification",
        "version": "1.0.0",
        "framework": "pytorch",
        "artifact_uri": "s3://m/1.0.0",
        "dataset_id": dataset.dataset_id,
        "experiment_id": trained_run.experiment_id,
        "run_id": trained_run.run_id,
    }
    response = client.post("/api/models/registry", json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    version = response.json()["version"]
    assert (version["run_id"], version["dataset_id"], version["metrics"]) == (
        trained_run.run_id,
        dataset.dataset_id,
        {"auc": 0.88},
    )
