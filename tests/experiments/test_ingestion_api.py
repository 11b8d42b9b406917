"""POST /api/experiments/{id}/logs: batch ingestion, idempotent, all-or-nothing validation."""

import json
from datetime import UTC, datetime

from dashboard.experiments.models import ExperimentRun, RunLogLine


def _line(run, ts_ms, message="step done", severity="info", **extra):
    return {
        "run_id": run.run_id,
        "ts": ts_ms,
        "severity": severity,
        "component": "trainer",
        "message": message,
        **extra,
    }


def _stored(run) -> list[RunLogLine]:
    return list(RunLogLine.query(run.run_key))


def _counters(run) -> tuple[int, int, int]:
    fresh = ExperimentRun.get(run.experiment_key, run.run_id)
    return int(fresh.line_count), int(fresh.error_count), int(fresh.warning_count)


def test_it_writes_a_batch_and_counts_its_severities(acme_api, make_experiment, make_run, base_ms):
    run = make_run(make_experiment())
    batch = [
        _line(run, base_ms, "loading", seq=0),
        _line(run, base_ms + 1, "slow loader", "warning", seq=1),
        _line(run, base_ms + 2, "NaN loss", "error", seq=2, fields={"step": 40}),
        _line(run, base_ms + 3, "aborted", "critical", seq=3),
    ]
    response = acme_api.post(f"/api/experiments/{run.experiment_id}/logs", {"lines": batch})
    assert response.status_code == 201
    assert response.json() == {"accepted": 4, "written": 4, "duplicates": 0}
    assert [line.message for line in _stored(run)] == ["loading", "slow loader", "NaN loss", "aborted"]
    assert _stored(run)[2].fields == {"step": 40}
    assert _counters(run) == (4, 2, 1)


def test_it_accepts_a_single_line_with_an_iso_timestamp(acme_api, make_experiment, make_run):
    run = make_run(make_experiment())
    ts = datetime.now(UTC).isoformat()
    line = {"run_id": run.run_id, "ts": ts, "severity": "info", "message": "x"}
    response = acme_api.post(f"/api/experiments/{run.experiment_id}/logs", line)
    assert response.status_code == 201
    assert [stored.component for stored in _stored(run)] == ["main"]


def test_a_retried_batch_neither_duplicates_lines_nor_counts_them_twice(
    acme_api, make_experiment, make_run, base_ms
):
    run = make_run(make_experiment())
    with_seq = [_line(run, base_ms, f"line {i}", "error" if i % 2 else "info", seq=i) for i in range(150)]
    url = f"/api/experiments/{run.experiment_id}/logs"
    assert acme_api.post(url, with_seq).json()["written"] == 150
    again = acme_api.post(url, with_seq)
    assert again.status_code == 200
    assert again.json() == {"accepted": 150, "written": 0, "duplicates": 150}
    assert len(_stored(run)) == 150
    assert _counters(run) == (150, 75, 0)


def test_a_retry_that_overlaps_a_partly_written_batch_writes_only_the_new_lines(
    acme_api, make_experiment, make_run, base_ms
):
    run = make_run(make_experiment())
    url = f"/api/experiments/{run.experiment_id}/logs"
    lines = [_line(run, base_ms + i, f"line {i}", "warning", seq=i) for i in range(10)]
    acme_api.post(url, lines[:4])
    response = acme_api.post(url, lines)
    assert response.json() == {"accepted": 10, "written": 6, "duplicates": 4}
    assert _counters(run) == (10, 0, 10)


def test_lines_without_seq_get_keys_derived_from_the_batch_so_retries_do_not_duplicate(
    acme_api, make_experiment, make_run, base_ms
):
    run = make_run(make_experiment())
    url = f"/api/experiments/{run.experiment_id}/logs"
    batch = [_line(run, base_ms, message) for message in ("first", "second", "third", "second")]
    acme_api.post(url, batch)
    acme_api.post(url, batch)
    assert [line.message for line in _stored(run)] == ["first", "second", "third", "second"]
    assert _counters(run)[0] == 4


def test_a_malformed_batch_is_rejected_with_line_numbered_errors_and_nothing_written(
    acme_api, make_experiment, make_run, base_ms
):
    run = make_run(make_experiment())
    batch = [
        _line(run, base_ms, "fine"),
        {"run_id": run.run_id, "ts": base_ms, "component": "trainer", "message": "no severity"},
        _line(run, "yesterday-ish", "bad time"),
        _line(run, base_ms, "", "loud"),
        "not an object",
    ]
    response = acme_api.post(f"/api/experiments/{run.experiment_id}/logs", batch)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "nothing was written" in error["message"]
    # Each problem by its path in the batch (0-based, as every API error names items).
    assert set(error["fields"]) == {
        "lines[1].severity",
        "lines[2].ts",
        "lines[3].severity",
        "lines[3].message",
        "lines[4]",
    }
    assert error["fields"]["lines[1].severity"] == "This field is required."
    assert error["fields"]["lines[4]"] == "must be an object."
    assert _stored(run) == []
    assert _counters(run) == (0, 0, 0)


def test_a_line_for_a_run_of_another_experiment_rejects_the_batch(
    acme_api, make_experiment, make_run, base_ms
):
    run = make_run(make_experiment())
    stranger = make_run(make_experiment())
    batch = [_line(run, base_ms, "ok"), _line(stranger, base_ms, "elsewhere")]
    response = acme_api.post(f"/api/experiments/{run.experiment_id}/logs", batch)
    assert response.status_code == 422
    assert "not a run of this experiment" in response.json()["error"]["fields"]["lines[1]"]
    assert _stored(run) == [] and _stored(stranger) == []


def test_a_batch_over_500_lines_is_refused(acme_api, make_experiment, make_run, base_ms):
    run = make_run(make_experiment())
    batch = [_line(run, base_ms, f"l{i}", seq=i) for i in range(501)]
    response = acme_api.post(f"/api/experiments/{run.experiment_id}/logs", batch)
    assert response.status_code == 422
    assert "at most 500" in response.json()["error"]["message"]
    assert _stored(run) == []


def test_a_full_batch_of_500_lines_lands_in_order(acme_api, make_experiment, make_run, base_ms):
    run = make_run(make_experiment())
    batch = [_line(run, base_ms + i // 7, f"l{i}", seq=i) for i in range(500)]
    response = acme_api.post(f"/api/experiments/{run.experiment_id}/logs", batch)
    assert response.json()["written"] == 500
    assert [line.message for line in _stored(run)] == [f"l{i}" for i in range(500)]
    assert _counters(run)[0] == 500


def test_lines_older_than_the_retention_are_refused(acme_api, make_experiment, make_run, base_ms):
    run = make_run(make_experiment())
    old = base_ms - 31 * 24 * 3600 * 1000
    response = acme_api.post(f"/api/experiments/{run.experiment_id}/logs", [_line(run, old)])
    assert response.status_code == 422
    assert "30-day" in response.json()["error"]["fields"]["lines[0]"]


def test_it_refuses_another_tenants_experiment(globex_api, make_experiment, make_run, base_ms):
    run = make_run(make_experiment("acme"))
    response = globex_api.post(f"/api/experiments/{run.experiment_id}/logs", [_line(run, base_ms)])
    assert response.status_code == 404
    assert _stored(run) == []


def test_it_needs_an_api_key(make_experiment, make_run, client, base_ms):
    run = make_run(make_experiment())
    response = client.post(
        f"/api/experiments/{run.experiment_id}/logs", [_line(run, base_ms)], content_type="application/json"
    )
    assert response.status_code == 401


def test_a_body_that_is_not_json_is_a_clear_400(acme_api, make_experiment):
    experiment = make_experiment()
    response = acme_api.client.post(
        f"/api/experiments/{experiment.experiment_id}/logs",
        "{oops",
        content_type="application/json",
        headers=acme_api.headers,
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]["message"]


def test_concurrent_overlapping_batches_count_every_line_exactly_once(make_experiment, make_run, base_ms):
    from concurrent.futures import ThreadPoolExecutor

    from dashboard.experiments import services
    from tests.experiments.conftest import api_scope

    run = make_run(make_experiment())
    lines = [
        _line(run, base_ms + i, f"line {i}", "error" if i % 3 == 0 else "info", seq=i) for i in range(240)
    ]
    batches = [lines[:160], lines[80:], lines[:160], lines[40:200], lines]
    with ThreadPoolExecutor(max_workers=5) as pool:
        results = list(
            pool.map(lambda batch: services.ingest(api_scope("acme"), run.experiment_id, batch), batches)
        )
    assert sum(result.written for result in results) == 240
    assert len(_stored(run)) == 240
    assert _counters(run) == (240, 80, 0)


def test_a_valid_batch_of_large_unicode_lines_is_written_whole(acme_api, make_experiment, make_run, base_ms):
    # 99 small lines and 99 of 8,000 "ΐ" (their case-folded copies triple in size): over DynamoDB's
    # 4 MB per transaction if written in one, so the batch must be split by size, not by count alone.
    run = make_run(make_experiment())
    small = [
        {"run_id": run.run_id, "ts": base_ms, "severity": "info", "message": f"s{n}", "seq": n}
        for n in range(99)
    ]
    big = [
        {"run_id": run.run_id, "ts": base_ms, "severity": "warning", "message": "ΐ" * 8000, "seq": 100 + n}
        for n in range(99)
    ]
    response = acme_api.client.post(
        f"/api/experiments/{run.experiment_id}/logs",
        json.dumps({"lines": small + big}, ensure_ascii=False).encode(),
        content_type="application/json",
        headers=acme_api.headers,
    )
    assert response.status_code == 201 and response.json()["written"] == 198
    assert len(_stored(run)) == 198
    lines, _errors, warnings = _counters(run)
    assert (lines, warnings) == (198, 99)
