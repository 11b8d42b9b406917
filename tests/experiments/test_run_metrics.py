"""Runs with metrics: ingestion through the API (validation, limits), the experiment chart, compare."""

from __future__ import annotations

import json
import re

import pytest

from dashboard.experiments import inputs, queries, services
from tests.conftest import element_by_id
from tests.experiments.conftest import api_scope


def _metrics_url(run) -> str:
    return f"/api/experiments/{run.experiment_id}/runs/{run.run_id}/metrics"


def _points(name: str, values) -> dict:
    return {"points": [{"step": step, "name": name, "value": value} for step, value in enumerate(values)]}


def test_points_are_recorded_and_the_highest_step_is_the_final_metric(acme_api, make_experiment, make_run):
    run = make_run(make_experiment())
    response = acme_api.post(
        _metrics_url(run),
        {
            "points": [
                {"step": 2, "name": "loss", "value": 0.4},
                {"step": 1, "name": "loss", "value": 0.9},
                {"step": 1, "name": "accuracy", "value": 0.7},
            ]
        },
    )
    assert response.status_code == 201, response.content
    assert response.json()["final_metrics"] == {"accuracy": 0.7, "loss": 0.4}
    # A retry of the same points stores them once; a later step moves the final value.
    acme_api.post(_metrics_url(run), {"points": [{"step": 2, "name": "loss", "value": 0.4}]})
    acme_api.post(_metrics_url(run), {"points": [{"step": 3, "name": "loss", "value": 0.3}]})
    curve = acme_api.get(_metrics_url(run), metric="loss").json()
    assert curve["points"] == [[1, 0.9], [2, 0.4], [3, 0.3]] and curve["final_metrics"]["loss"] == 0.3


@pytest.mark.parametrize(
    "body, field",
    [
        ({"points": []}, "points"),
        ({"points": [{"step": -1, "name": "loss", "value": 1}]}, "points[0].step"),
        ({"points": [{"step": 1, "name": "1oss", "value": 1}]}, "points[0].name"),
        ({"points": [{"step": 1, "name": "loss", "value": "0.5"}]}, "points[0].value"),
        ({"points": [{"step": 1, "name": "loss", "value": True}]}, "points[0].value"),
        ({"points": [{"step": 1.5, "name": "loss", "value": 1}]}, "points[0].step"),
        ({"points": [{"step": 1, "name": "loss", "value": 1, "unit": "x"}]}, "points[0]"),
        ({"points": [{"step": 1, "name": "loss", "value": 1}] * 1001}, "points"),
    ],
)
def test_bad_points_are_refused_by_path_and_nothing_is_recorded(
    acme_api, make_experiment, make_run, body, field
):
    run = make_run(make_experiment())
    response = acme_api.post(_metrics_url(run), body)
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert any(key.startswith(field) for key in error["fields"]), error
    assert acme_api.get(_metrics_url(run)).json()["point_count"] == 0


def test_the_service_refuses_the_same_bad_points_with_their_paths():
    with pytest.raises(services.ValidationFailed) as refused:
        inputs.clean_metric_points(
            {
                "points": [
                    {"step": 1, "name": "ok", "value": 1},
                    {"step": "x", "name": "ok", "value": float("nan")},
                ]
            }
        )
    assert set(refused.value.fields) == {"points[1].step", "points[1].value"}


def test_a_run_past_its_limits_or_finished_is_refused(acme_api, make_experiment, make_run, monkeypatch):
    run = make_run(make_experiment())
    monkeypatch.setattr(inputs, "MAX_METRICS_PER_RUN", 2)
    monkeypatch.setattr(inputs, "MAX_POINTS_PER_RUN", 5)
    assert acme_api.post(_metrics_url(run), _points("loss", [1, 2, 3])).status_code == 201
    too_many_names = acme_api.post(
        _metrics_url(run),
        {"points": [{"step": 0, "name": "a", "value": 1}, {"step": 0, "name": "b", "value": 1}]},
    )
    assert (
        too_many_names.status_code == 422 and "at most 2 metrics" in too_many_names.json()["error"]["message"]
    )
    too_many_points = acme_api.post(_metrics_url(run), _points("loss", [1, 2, 3]))
    assert (
        too_many_points.status_code == 422
        and "at most 5 metric points" in too_many_points.json()["error"]["message"]
    )
    services.finish_run(api_scope("acme"), run.experiment_id, run.run_id, "succeeded")
    finished = acme_api.post(_metrics_url(run), _points("loss", [1]))
    assert finished.status_code == 409
    assert acme_api.get(_metrics_url(run)).json()["point_count"] == 3


def test_another_tenants_run_takes_no_points(acme_api, globex_api, make_experiment, make_run):
    run = make_run(make_experiment())
    assert globex_api.post(_metrics_url(run), _points("loss", [1])).status_code == 404
    assert acme_api.get(_metrics_url(run)).json()["point_count"] == 0


def test_the_experiment_page_charts_a_chosen_metric_across_its_runs(acme_admin, make_experiment, make_run):
    experiment = make_experiment()
    first, second, _silent = (
        make_run(experiment, "lr 0.1"),
        make_run(experiment, "lr 0.01"),
        make_run(experiment, "none"),
    )
    scope = api_scope("acme")
    services.record_metrics(scope, experiment.experiment_id, first.run_id, _points("loss", [0.9, 0.5]))
    services.record_metrics(scope, experiment.experiment_id, second.run_id, _points("loss", [0.8, 0.6, 0.2]))
    services.record_metrics(scope, experiment.experiment_id, second.run_id, _points("accuracy", [0.5]))
    page = acme_admin.get(f"/experiments/{experiment.experiment_id}/", {"metric": "loss"}).content.decode()
    series = json.loads(
        re.search(r'<script id="run-curves" type="application/json">(.*?)</script>', page, re.S).group(1)
    )
    assert {run["label"]: run["points"] for run in series} == {
        "lr 0.1": [[0, 0.9], [1, 0.5]],
        "lr 0.01": [[0, 0.8], [1, 0.6], [2, 0.2]],
    }
    chart = acme_admin.get(
        f"/experiments/{experiment.experiment_id}/",
        {"metric": "accuracy"},
        headers={"HX-Request": "true", "HX-Target": "run-chart"},
    ).content.decode()
    assert chart.lstrip().startswith('<section class="card" id="run-chart"') and "lr 0.1" not in chart


def test_two_runs_are_compared_side_by_side(acme_admin, globex_admin, make_experiment, make_run):
    experiment = make_experiment()
    scope = api_scope("acme")
    a = services.start_run(scope, experiment.experiment_id, name="small", parameters={"lr": 0.1, "epochs": 5})
    b = services.start_run(
        scope, experiment.experiment_id, name="large", parameters={"lr": 0.01, "epochs": 5}
    )
    services.record_metrics(scope, experiment.experiment_id, a.run_id, _points("loss", [0.9, 0.4]))
    services.record_metrics(scope, experiment.experiment_id, b.run_id, _points("loss", [0.7, 0.3, 0.1]))
    url = f"/experiments/{experiment.experiment_id}/compare/"
    response = acme_admin.get(url, {"run": [a.run_id, b.run_id]})
    page = response.content.decode()
    assert response.status_code == 200
    table = element_by_id(page, "compare-runs")
    rows = {
        name: re.sub(r"<[^>]+>", " ", row).split()
        for name, row in re.findall(r'data-(?:param|metric)="([^"]+)">(.*?)</tr>', table, re.S)
    }
    assert rows["lr"][-2:] == ["0.1", "0.01"] and "differs" in rows["lr"]
    assert "differs" not in rows["epochs"]
    assert rows["loss"][-2:] == ["0.4", "0.1"]
    series = json.loads(
        re.search(r'<script id="run-curves" type="application/json">(.*?)</script>', page, re.S).group(1)
    )
    assert [len(run["points"]) for run in series] == [2, 3]
    one = acme_admin.get(url, {"run": [a.run_id]})
    assert one.status_code == 422 and "at least two runs" in one.content.decode()
    unknown = acme_admin.get(url, {"run": [a.run_id, "no-such-run"]})
    assert unknown.status_code == 404
    assert globex_admin.get(url, {"run": [a.run_id, b.run_id]}).status_code == 404


def test_final_metrics_come_from_the_highest_step():
    from dashboard.experiments.inputs import MetricPoint

    merged = services._merge_final(
        {"loss": {"step": 5, "value": 0.2}}, [MetricPoint("loss", 3, 0.9), MetricPoint("acc", 1, 0.5)]
    )
    assert merged == {"loss": {"step": 5, "value": 0.2}, "acc": {"step": 1, "value": 0.5}}
    assert queries.final_metrics(type("R", (), {"final_metrics": merged})()) == {"acc": 0.5, "loss": 0.2}
