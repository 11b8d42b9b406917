from dashboard.logs import reading
from dashboard.logs.reading import LogFilters


def test_smoke(make_experiment, make_run, write, base_ms, acme_admin):
    exp = make_experiment()
    run = make_run(exp)
    r = write(run, [("info", "hello", base_ms, 1), ("error", "boom", base_ms, 2), ("warning", "hmm", base_ms + 5, None)])
    assert r.written == 3
    r2 = write(run, [("info", "hello", base_ms, 1), ("error", "boom", base_ms, 2)])
    assert r2.written == 0
    run.refresh()
    assert (run.line_count, run.error_count, run.warning_count) == (3, 1, 1)
    w = reading.tail(run.run_id, LogFilters(), None)
    assert [l.message for l in w.lines] == ["hello", "boom", "hmm"]
    w = reading.tail(run.run_id, LogFilters(severity="warning"), None)
    assert [l.message for l in w.lines] == ["boom", "hmm"]
    resp = acme_admin.get(f"/experiments/{exp.experiment_id}/runs/{run.run_id}/logs/")
    assert resp.status_code == 200, resp.content[:2000]
    assert b"boom" in resp.content
    resp = acme_admin.get("/experiments/")
    assert resp.status_code == 200
    resp = acme_admin.get(f"/experiments/{exp.experiment_id}/")
    assert resp.status_code == 200
    assert b"boom" in resp.content
