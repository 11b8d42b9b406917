"""A log line's address in a browser: its permalink, opened in a new tab, lands on that line."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def _line(run, ts_ms, message, seq, severity="info"):
    return {
        "run_id": run.run_id,
        "ts": ts_ms,
        "seq": seq,
        "severity": severity,
        "component": "trainer",
        "message": message,
    }


def test_a_lines_permalink_opened_in_a_new_tab_lands_on_that_line_highlighted(
    page_as, people, acme_api, make_experiment, make_run, base_ms
):
    run = make_run(make_experiment())
    logs_url = f"/api/experiments/{run.experiment_id}/logs"
    acme_api.post(logs_url, [_line(run, base_ms + n, f"step {n}", n) for n in range(400)])
    viewer = f"/experiments/{run.experiment_id}/runs/{run.run_id}/logs/"
    page = page_as(people["admin of acme"])
    # Search for the line, then take its address from the row (the time cell is its permalink).
    page.goto(viewer + "?q=step+42")
    row = page.locator(".log-row", has=page.locator(".msg", has_text=re.compile(r"^step 42$")))
    expect(row.locator("mark")).to_have_text("step 42")
    link = row.locator("a.log-link")
    href = link.get_attribute("href")
    assert "/logs/lines/" in href

    tab = page.context.new_page()
    tab.goto(href)
    target = tab.locator(".log-row.log-target")
    expect(target).to_have_count(1)
    expect(target.locator(".msg")).to_have_text("step 42")
    expect(target).to_be_in_viewport()
    expect(target).to_have_attribute("aria-current", "true")
    # Its neighbours are shown unfiltered around it, and the end of the log is not what is in view.
    expect(tab.locator(".log-row", has=tab.locator(".msg", has_text=re.compile(r"^step 41$")))).to_have_count(
        1
    )
    expect(tab.locator(".log-row", has=tab.locator(".msg", has_text=re.compile(r"^step 43$")))).to_have_count(
        1
    )
    expect(
        tab.locator(".log-row", has=tab.locator(".msg", has_text=re.compile(r"^step 399$")))
    ).not_to_be_in_viewport()


def test_the_headers_counters_follow_the_run_while_it_writes(
    page_as, people, acme_api, make_experiment, make_run, base_ms
):
    run = make_run(make_experiment())
    logs_url = f"/api/experiments/{run.experiment_id}/logs"
    acme_api.post(logs_url, [_line(run, base_ms, "warming up", 0)])
    page = page_as(people["admin of acme"])
    page.goto(f"/experiments/{run.experiment_id}/runs/{run.run_id}/logs/")
    expect(page.locator("#run-errors")).to_have_text("0")
    acme_api.post(
        logs_url,
        [
            _line(run, base_ms + 5, "CUDA out of memory", 1, "error"),
            _line(run, base_ms + 6, "retrying", 2, "warning"),
        ],
    )
    expect(page.locator("#run-errors")).to_have_text("1")
    expect(page.locator("#run-warnings")).to_have_text("1")
    expect(page.locator("#run-lines")).to_have_text("3")
    page.locator("#first-error").click()
    expect(page.locator(".log-row.log-target .msg")).to_have_text("CUDA out of memory")
