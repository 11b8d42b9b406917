"""The experiment page in a browser: from the latest errors to the failing run's filtered log."""

import pytest

pytestmark = pytest.mark.browser


def test_an_error_leads_to_its_runs_log_filtered_to_errors(
    page_as, people, make_experiment, make_run, write, base_ms
):
    experiment = make_experiment(name="Errors sweep")
    calm, broken = make_run(experiment, name="calm"), make_run(experiment, name="broken")
    write(calm, [("info", "all fine", base_ms, 0)])
    write(
        broken,
        [("info", "loading shards", base_ms + 1, 0), ("error", "corrupt record skipped", base_ms + 2, 1)],
    )
    page = page_as(people["admin of acme"])
    page.goto("/experiments/")
    page.get_by_role("link", name="Errors sweep").click()
    page.wait_for_url(f"**/experiments/{experiment.experiment_id}/")
    errors = page.locator("#latest-errors li")
    assert errors.count() == 1 and "corrupt record skipped" in errors.first.inner_text()
    errors.first.get_by_role("link", name=broken.run_id).click()
    page.wait_for_url("**severity=error**")
    assert page.locator(".log-row .msg").all_inner_texts() == ["corrupt record skipped"]
    assert page.locator("select[name=severity]").input_value() == "error"
