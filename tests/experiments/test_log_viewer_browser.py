"""The log viewer's Grafana-like flows in a browser: the histogram narrows the window, a regex search, a
pattern's lines, a saved view reopened."""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import assert_chart_painted

pytestmark = pytest.mark.browser
MINUTE = 60_000


def _line(run, ts_ms, message, seq, severity="info"):
    return {
        "run_id": run.run_id,
        "ts": ts_ms,
        "seq": seq,
        "severity": severity,
        "component": "trainer",
        "message": message,
    }


def _viewer(run) -> str:
    return f"/experiments/{run.experiment_id}/runs/{run.run_id}/logs/"


def test_clicking_a_histogram_bar_narrows_the_lines_to_its_minute(
    page_as, people, acme_api, make_experiment, make_run, base_ms
):
    run = make_run(make_experiment())
    start = base_ms - base_ms % MINUTE - 10 * MINUTE
    acme_api.post(
        f"/api/experiments/{run.experiment_id}/logs",
        [
            _line(run, start, "warming up", 0),
            _line(run, start + 1000, "first error", 1, "error"),
            _line(run, start + 3 * MINUTE, "later line", 2),
        ],
    )
    page = page_as(people["admin of acme"])
    page.goto(_viewer(run))
    assert_chart_painted(page, "log-volume-chart")
    expect(page.locator(".log-row")).to_have_count(3)
    # The first bar's middle, from Chart.js' own geometry of the stacked bars.
    x, y = page.evaluate(
        """() => { const chart = Chart.getChart(document.getElementById('log-volume-chart'));
                   const bar = chart.getDatasetMeta(1).data[0];
                   const box = chart.canvas.getBoundingClientRect();
                   return [box.left + bar.x, box.top + (bar.y + bar.base) / 2]; }"""
    )
    page.mouse.click(x, y)
    page.wait_for_url(re.compile(r"from=\d+&to=\d+|to=\d+.*from=\d+|from=\d+.*to=\d+"))
    expect(page.locator(".log-row", has_text="later line")).to_have_count(0)
    expect(page.locator(".log-row .msg")).to_have_text(["warming up", "first error"])
    page.click("#volume-whole")
    expect(page.locator(".log-row")).to_have_count(3)


def test_a_regex_search_marks_its_matches_and_lands_in_the_address(
    page_as, people, acme_api, make_experiment, make_run, base_ms
):
    run = make_run(make_experiment())
    acme_api.post(
        f"/api/experiments/{run.experiment_id}/logs",
        [_line(run, base_ms + i, f"Epoch {i} loss=0.{50 - i}", i) for i in range(6)],
    )
    page = page_as(people["admin of acme"])
    page.goto(_viewer(run))
    page.check("input[name=regex]")
    page.fill("input[name=q]", r"Epoch [34] ")
    page.press("input[name=q]", "Enter")
    page.wait_for_url("**regex=1**")
    expect(page.locator(".log-row .msg")).to_have_text(["Epoch 3 loss=0.47", "Epoch 4 loss=0.46"])
    expect(page.locator(".log-row mark").first).to_have_text("Epoch 3 ")
    page.fill("input[name=q]", "Epoch (")
    page.press("input[name=q]", "Enter")
    expect(page.locator("#filter-error")).to_contain_text("not valid")


def test_clicking_a_pattern_shows_its_lines(page_as, people, acme_api, make_experiment, make_run, base_ms):
    run = make_run(make_experiment())
    batch = [_line(run, base_ms + i, f"Epoch {i} loss=0.{50 - i}", i) for i in range(8)]
    batch += [
        _line(run, base_ms + 100 + i, f"saved checkpoint step-{i}.pt", 100 + i, "warning") for i in range(3)
    ]
    acme_api.post(f"/api/experiments/{run.experiment_id}/logs", batch)
    page = page_as(people["admin of acme"])
    page.goto(_viewer(run))
    page.click("#patterns-link")
    row = page.locator(".pattern-row", has_text="saved checkpoint step-*.pt")
    expect(row.locator("td.num")).to_have_text("3")
    row.locator("a.pattern-link").click()
    expect(page.locator(".log-row")).to_have_count(3)
    expect(page.locator(".log-row .msg").first).to_contain_text("saved checkpoint step-0.pt")


def test_a_saved_view_reopens_with_its_filters(page_as, people, acme_api, make_experiment, make_run, base_ms):
    experiment = make_experiment()
    run = make_run(experiment)
    acme_api.post(
        f"/api/experiments/{run.experiment_id}/logs",
        [_line(run, base_ms, "all good", 0), _line(run, base_ms + 1, "CUDA out of memory", 1, "error")],
    )
    page = page_as(people["admin of acme"])
    page.goto(_viewer(run))
    page.select_option("select[name=severity]", "error")
    page.wait_for_url("**severity=error**")
    page.fill("#save-view-form input[name=name]", "Errors only")
    page.click("#save-view-form button[type=submit]")
    expect(page.locator("#saved-views a.saved-view")).to_have_text(["Errors only"])
    page.goto(_viewer(run))
    expect(page.locator(".log-row")).to_have_count(2)
    page.click("#saved-views a.saved-view")
    expect(page.locator(".log-row .msg")).to_have_text(["CUDA out of memory"])
    expect(page.locator("select[name=severity]")).to_have_value("error")
