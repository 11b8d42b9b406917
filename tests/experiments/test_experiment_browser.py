"""The experiment page in a browser: its metrics chart (and the compare page's), then from the latest
errors to the failing run's filtered log."""

import pytest
from playwright.sync_api import expect

from dashboard.experiments import services
from tests.conftest import assert_chart_painted
from tests.experiments.conftest import api_scope

pytestmark = pytest.mark.browser


def _points(name, values):
    return {"points": [{"step": step, "name": name, "value": value} for step, value in enumerate(values)]}


def assert_chart_drawn(page, canvas_id: str, series: int) -> None:
    expect(page.locator(f"#{canvas_id}")).to_have_attribute("data-drawn", str(series))
    assert_chart_painted(page, canvas_id)


def test_the_chart_draws_and_an_error_leads_to_its_runs_log_filtered_to_errors(
    page_as, people, make_experiment, make_run, write, base_ms
):
    experiment = make_experiment(name="Errors sweep")
    calm, broken = make_run(experiment, name="calm"), make_run(experiment, name="broken")
    scope = api_scope("acme")
    services.record_metrics(scope, experiment.experiment_id, calm.run_id, _points("loss", [0.9, 0.5, 0.3]))
    services.record_metrics(scope, experiment.experiment_id, broken.run_id, _points("loss", [0.8, 0.7]))
    write(calm, [("info", "all fine", base_ms, 0)])
    write(
        broken,
        [("info", "loading shards", base_ms + 1, 0), ("error", "corrupt record skipped", base_ms + 2, 1)],
    )
    page = page_as(people["admin of acme"])
    page.goto("/experiments/")
    page.get_by_role("link", name="Errors sweep").click()
    page.wait_for_url(f"**/experiments/{experiment.experiment_id}/")
    # The tab title is plain text; the chart is in the page body and drawn by Chart.js.
    assert page.title() == "Errors sweep · Diatonic AI Lab"
    assert "<" not in page.evaluate("document.querySelector('title').innerHTML")
    expect(page.locator("#content #run-chart h2")).to_have_text("Metrics across runs")
    assert_chart_drawn(page, "run-curves-chart", 2)
    # The compare page draws the same curves for the runs compared.
    page.locator("#compare-link").click()
    page.wait_for_url("**/compare/**")
    assert_chart_drawn(page, "run-curves-chart", 2)

    # Row headers read as written ("status"); only column headers are set in capitals.
    def transform(selector):
        return page.locator(selector).first.evaluate("(th) => getComputedStyle(th).textTransform")

    assert transform("#compare-runs tbody th[scope=row]") == "none"
    assert transform("#compare-runs thead th") == "uppercase"
    page.go_back()
    page.wait_for_url(f"**/experiments/{experiment.experiment_id}/")
    errors = page.locator("#latest-errors li")
    assert errors.count() == 1 and "corrupt record skipped" in errors.first.inner_text()
    errors.first.get_by_role("link", name=broken.run_id).click()
    page.wait_for_url("**severity=error**")
    assert page.locator(".log-row .msg").all_inner_texts() == ["corrupt record skipped"]
    assert page.locator("select[name=severity]").input_value() == "error"


def test_another_metric_redraws_the_curves_in_place(page_as, people, make_experiment, make_run):
    experiment = make_experiment(name="Two metrics")
    first, second = make_run(experiment, name="first"), make_run(experiment, name="second")
    scope = api_scope("acme")
    services.record_metrics(scope, experiment.experiment_id, first.run_id, _points("loss", [0.9, 0.5, 0.3]))
    services.record_metrics(scope, experiment.experiment_id, second.run_id, _points("loss", [0.8, 0.7]))
    services.record_metrics(
        scope, experiment.experiment_id, first.run_id, _points("accuracy", [0.5, 0.7, 0.8])
    )
    page = page_as(people["admin of acme"])
    page.goto(f"/experiments/{experiment.experiment_id}/?metric=loss")
    assert_chart_drawn(page, "run-curves-chart", 2)
    page.evaluate("window.notReloaded = true")
    page.select_option("#run-chart select[name=metric]", "accuracy")
    expect(page.locator("#run-curves-chart")).to_have_attribute("data-metric", "accuracy")
    assert_chart_drawn(page, "run-curves-chart", 1)
    assert page.evaluate("window.notReloaded") is True
