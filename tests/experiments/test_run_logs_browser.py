"""The live log viewer in a browser: lines written through the API appear without a reload."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def _viewer(run) -> str:
    return f"/experiments/{run.experiment_id}/runs/{run.run_id}/logs/"


def _line(run, ts_ms, message, seq, severity="info", component="trainer"):
    return {
        "run_id": run.run_id,
        "ts": ts_ms,
        "seq": seq,
        "severity": severity,
        "component": component,
        "message": message,
    }


def test_lines_written_through_the_api_appear_live_and_polling_stops_when_the_run_ends(
    page_as, people, acme_api, make_experiment, make_run, base_ms
):
    run = make_run(make_experiment())
    logs_url = f"/api/experiments/{run.experiment_id}/logs"
    acme_api.post(logs_url, [_line(run, base_ms, "warming up", 0)])
    page = page_as(people["admin of acme"])
    polls = []
    page.on("request", lambda request: polls.append(request.url) if "after=" in request.url else None)
    page.goto(_viewer(run))
    page.locator(".log-row", has_text="warming up").wait_for()
    page.evaluate("window.notReloaded = true")

    acme_api.post(
        logs_url,
        [
            _line(run, base_ms + 10, "arrived live", 1),
            _line(run, base_ms + 10, "CUDA out of memory", 2, "error", "gpu"),
        ],
    )
    page.locator(".log-row", has_text="CUDA out of memory").wait_for()
    messages = page.locator(".log-row .msg").all_inner_texts()
    assert messages == ["warming up", "arrived live", "CUDA out of memory"]
    assert page.locator(".log-row.sev-error").count() == 1
    assert page.evaluate("window.notReloaded") is True

    acme_api.post(f"/api/experiments/{run.experiment_id}/runs/{run.run_id}", {"status": "failed"})
    page.locator("#log-tail", has_text="the run failed").wait_for()
    # The status badge is the server's (status_badge), swapped in with the last poll's run header.
    expect(page.locator("#run-status .badge.badge-bad")).to_have_text("failed")
    assert page.locator(".log-row").last.inner_text().count("Run failed after") == 1
    # The 286 ended polling: the last tail htmx swapped in has no polling trigger left.
    expect(page.locator("#log-tail[hx-trigger*='every']")).to_have_count(0)
    assert page.evaluate("window.notReloaded") is True


def test_pause_holds_new_lines_back_until_resumed(
    page_as, people, acme_api, make_experiment, make_run, base_ms
):
    run = make_run(make_experiment())
    logs_url = f"/api/experiments/{run.experiment_id}/logs"
    acme_api.post(logs_url, [_line(run, base_ms, "before pause", 0)])
    page = page_as(people["admin of acme"])
    page.goto(_viewer(run))
    page.click("#log-pause")
    assert page.locator("#log-pause").inner_text() == "▶ Resume"
    acme_api.post(logs_url, [_line(run, base_ms + 1, "held back", 1)])
    for _period in range(2):  # two polling periods pass, each poll held back by the pause
        page.evaluate(
            "() => new Promise(done => document.body.addEventListener("
            "'htmx:beforeRequest', () => setTimeout(done, 50), {once: true}))"
        )
    assert page.locator(".log-row", has_text="held back").count() == 0
    page.click("#log-pause")
    page.locator(".log-row", has_text="held back").wait_for()


def test_the_view_follows_the_bottom_unless_the_reader_scrolled_up(
    page_as, people, acme_api, make_experiment, make_run, base_ms
):
    run = make_run(make_experiment())
    logs_url = f"/api/experiments/{run.experiment_id}/logs"
    acme_api.post(logs_url, [_line(run, base_ms + i, f"early {i}", i) for i in range(80)])
    page = page_as(people["admin of acme"])
    page.goto(_viewer(run))
    at_bottom = "(() => { const b = document.getElementById('log-scroller'); return b.scrollHeight - b.scrollTop - b.clientHeight < 40; })()"
    assert page.evaluate(at_bottom)
    acme_api.post(logs_url, [_line(run, base_ms + 100 + i, f"more {i}", 100 + i) for i in range(30)])
    page.locator(".log-row", has_text="more 29").wait_for()
    assert page.evaluate(at_bottom)

    page.evaluate("document.getElementById('log-scroller').scrollTop = 0")
    acme_api.post(logs_url, [_line(run, base_ms + 200 + i, f"late {i}", 200 + i) for i in range(30)])
    page.locator(".log-row", has_text="late 29").wait_for()
    assert page.evaluate("document.getElementById('log-scroller').scrollTop") == 0


def test_filtering_by_severity_updates_the_table_and_the_address(
    page_as, people, acme_api, make_experiment, make_run, base_ms
):
    run = make_run(make_experiment())
    acme_api.post(
        f"/api/experiments/{run.experiment_id}/logs",
        [_line(run, base_ms, "chatty", 0, "debug"), _line(run, base_ms + 1, "broken", 1, "error")],
    )
    page = page_as(people["admin of acme"])
    page.goto(_viewer(run))
    page.select_option("select[name=severity]", "error")
    page.wait_for_url("**severity=error**")
    page.locator(".log-row", has_text="chatty").wait_for(state="detached")
    assert page.locator(".log-row .msg").all_inner_texts() == ["broken"]
