"""GET /api/experiments/{id}/runs/{run_id}/logs, GET /api/experiments/{id}/logs, and the run endpoints."""

from datetime import timedelta

import pytest

from dashboard.audit.models import AuditEvent
from dashboard.core import clock
from dashboard.dynamo import metrics
from dashboard.experiments import queries
from dashboard.experiments.inputs import LogFilters
from dashboard.experiments.models import SEVERITIES

COMPONENTS = ("trainer", "data", "gpu")


@pytest.fixture
def mixed_run(make_experiment, make_run, write, base_ms):
    """60 lines cycling through every severity and three components, some sharing a timestamp."""
    run = make_run(make_experiment())
    specs = [
        (
            SEVERITIES[i % 5],
            f"message {i}{' CUDA' if i % 4 == 0 else ''}",
            base_ms + i // 3,
            i,
            COMPONENTS[i % 3],
        )
        for i in range(60)
    ]
    write(run, specs)
    return run, specs


def _read_all(api, run, **filters) -> list[dict]:
    url = f"/api/experiments/{run.experiment_id}/runs/{run.run_id}/logs"
    found, after = [], ""
    for _ in range(100):
        body = api.get(url, after=after, limit=7, **filters).json()
        found.extend(body["lines"])
        after = body["after"] or ""
        if not body["more"]:
            return found
    raise AssertionError("paging never ended")


def test_paging_with_the_cursor_returns_every_line_once_in_order(acme_api, mixed_run):
    run, specs = mixed_run
    assert [line["message"] for line in _read_all(acme_api, run)] == [spec[1] for spec in specs]


@pytest.mark.parametrize("minimum", ["info", "warning", "error", "critical"])
def test_the_minimum_severity_filter_returns_exactly_the_matching_lines(acme_api, mixed_run, minimum):
    run, specs = mixed_run
    wanted = SEVERITIES[SEVERITIES.index(minimum) :]
    expected = [spec[1] for spec in specs if spec[0] in wanted]
    assert [line["message"] for line in _read_all(acme_api, run, severity=minimum)] == expected


def test_the_component_filter_returns_exactly_that_components_lines(acme_api, mixed_run):
    run, specs = mixed_run
    expected = [spec[1] for spec in specs if spec[4] == "data"]
    assert [line["message"] for line in _read_all(acme_api, run, component="data")] == expected


def test_component_severity_and_text_filters_combine(acme_api, mixed_run):
    run, specs = mixed_run
    expected = [
        spec[1]
        for spec in specs
        if spec[4] == "trainer" and spec[0] in ("error", "critical") and "CUDA" in spec[1]
    ]
    found = _read_all(acme_api, run, component="trainer", severity="error", q="CUDA")
    assert expected and [line["message"] for line in found] == expected


def test_the_text_search_ignores_case(acme_api, make_experiment, make_run, write, base_ms):
    run = make_run(make_experiment())
    write(run, [("error", "CUDA out of memory", base_ms), ("info", "epoch 3 done", base_ms + 1)])
    for query in ("cuda", "Cuda Out", "CUDA"):
        found = _read_all(acme_api, run, q=query)
        assert [line["message"] for line in found] == ["CUDA out of memory"], query
    assert _read_all(acme_api, run, q="EPOCH") and not _read_all(acme_api, run, q="cudaa")


def test_filters_are_served_by_bounded_queries_never_a_scan(mixed_run):

    run, _specs = mixed_run
    with metrics.track() as stats:
        window = queries.read_window(run.run_key, LogFilters(severity="info"), limit=50)
    assert set(stats.operations) == {"Query"}
    assert stats.calls == window.queries <= 4


def test_the_experiment_endpoint_lists_lines_across_runs_with_a_signed_cursor(
    acme_api, make_experiment, make_run, write, base_ms
):
    experiment = make_experiment()
    first, second = make_run(experiment), make_run(experiment)
    write(first, [("info", f"a{i}", base_ms + i * 2, i) for i in range(5)])
    write(second, [("error", f"b{i}", base_ms + i * 2 + 1, i) for i in range(5)])
    url = f"/api/experiments/{experiment.experiment_id}/logs"
    page = acme_api.get(url, limit=4).json()
    assert [line["message"] for line in page["lines"]] == ["a0", "b0", "a1", "b1"]
    rest = acme_api.get(url, limit=100, cursor=page["next_cursor"]).json()
    assert [line["message"] for line in rest["lines"]] == ["a2", "b2", "a3", "b3", "a4", "b4"]
    errors = acme_api.get(url, severity="error").json()
    assert [line["message"] for line in errors["lines"]] == [f"b{i}" for i in range(5)]
    one_run = acme_api.get(url, run_id=first.run_id).json()
    assert [line["message"] for line in one_run["lines"]] == [f"a{i}" for i in range(5)]


def test_a_forged_cursor_is_a_clear_422(acme_api, make_experiment):
    experiment = make_experiment()
    response = acme_api.get(f"/api/experiments/{experiment.experiment_id}/logs", cursor="forged")
    assert response.status_code == 422 and response.json()["error"]["fields"] == {"cursor": "invalid cursor"}


def test_a_bad_position_or_severity_is_a_clear_error(acme_api, mixed_run):
    run, _specs = mixed_run
    url = f"/api/experiments/{run.experiment_id}/runs/{run.run_id}/logs"
    assert acme_api.get(url, after="x' OR 1=1").status_code == 422
    assert acme_api.get(url, severity="loud").status_code == 422


def test_expired_lines_are_never_shown(acme_api, make_experiment, make_run, write, base_ms, monkeypatch):
    run = make_run(make_experiment())
    old = clock.epoch_ms() - 29 * 24 * 3600 * 1000
    write(run, [("info", "old news", old, 0), ("info", "fresh", base_ms, 1)])
    url = f"/api/experiments/{run.experiment_id}/runs/{run.run_id}/logs"
    assert [line["message"] for line in acme_api.get(url).json()["lines"]] == ["old news", "fresh"]
    later = clock.now()
    monkeypatch.setattr(clock, "now", lambda: later + timedelta(days=2))
    assert [line["message"] for line in acme_api.get(url).json()["lines"]] == ["fresh"]


def test_it_refuses_another_tenants_run(globex_api, mixed_run):
    run, _specs = mixed_run
    response = globex_api.get(f"/api/experiments/{run.experiment_id}/runs/{run.run_id}/logs")
    assert response.status_code == 404
    assert globex_api.get(f"/api/experiments/{run.experiment_id}/logs").status_code == 404


def test_a_client_starts_and_finishes_a_run_and_a_retry_is_harmless(acme_api, make_experiment):
    experiment = make_experiment()
    url = f"/api/experiments/{experiment.experiment_id}/runs"
    started = acme_api.post(url, {"run_id": "job-42", "name": "nightly"})
    assert started.status_code == 201 and started.json()["status"] == "running"
    assert acme_api.post(url, {"run_id": "job-42", "name": "nightly"}).json()["run_id"] == "job-42"
    finished = acme_api.post(f"{url}/job-42", {"status": "failed"})
    assert finished.json()["status"] == "failed"
    assert acme_api.post(f"{url}/job-42", {"status": "failed"}).status_code == 200
    assert acme_api.post(f"{url}/job-42", {"status": "succeeded"}).status_code == 409
    assert acme_api.post(f"{url}/job-42", {"status": "exploded"}).status_code == 422
    lines = acme_api.get(f"{url}/job-42/logs").json()["lines"]
    assert lines[-1]["message"].startswith("Run failed after")


def test_starting_and_finishing_a_run_go_to_the_audit_trail_once(acme_api, make_experiment):
    experiment = make_experiment()
    url = f"/api/experiments/{experiment.experiment_id}/runs"
    for _ in range(2):  # the retries write nothing more
        acme_api.post(url, {"run_id": "job-7"})
        acme_api.post(f"{url}/job-7", {"status": "succeeded"})
    target = f"{experiment.experiment_id}/job-7"
    events = [
        e for e in AuditEvent.query("acme", scan_index_forward=False, limit=100) if e.target_id == target
    ]
    assert [(e.action, e.changes["status"]) for e in events] == [
        ("run.finish", "running → succeeded"),
        ("run.start", "running"),
    ]
    assert all(e.actor_label.startswith("API key") for e in events)
