"""The experiments page in a browser: a running run's status refreshes without a reload."""

import pytest

from dashboard.experiments import services
from tests.experiments.conftest import api_scope

pytestmark = pytest.mark.browser


def test_a_running_runs_status_refreshes_when_it_finishes(
    page_as, people, make_experiment, make_run, write, base_ms
):
    experiment = make_experiment(name="Browser sweep")
    run = make_run(experiment, name="browser-run")
    write(run, [("warning", "careful", base_ms, 0)])
    page = page_as(people["admin of acme"])
    page.goto("/experiments/")
    card = page.locator(f"#experiment-{experiment.experiment_id}")
    assert card.locator(".run-status").first.inner_text() == "running"
    services.finish_run(api_scope("acme"), experiment.experiment_id, run.run_id, "succeeded")
    card.locator(".run-status", has_text="succeeded").wait_for()
    card.get_by_role("link", name="browser-run").click()
    page.wait_for_url(f"**/runs/{run.run_id}/logs/")
    assert page.locator(".log-row .msg").first.inner_text() == "careful"
