"""The experiment page (/experiments/{id}/): its runs and the latest errors across them."""

from dashboard.experiments import services
from tests.experiments.conftest import api_scope


def test_it_shows_the_latest_errors_across_all_runs_newest_first(
    acme_admin, make_experiment, make_run, write, base_ms
):
    experiment = make_experiment()
    first, second, quiet = make_run(experiment), make_run(experiment), make_run(experiment)
    write(first, [("error", "disk full", base_ms, 0), ("info", "calm", base_ms + 1, 1)])
    write(second, [("critical", "GPU lost", base_ms + 5, 0), ("warning", "slow", base_ms + 6, 1)])
    write(quiet, [("info", "all good", base_ms + 7, 0)])
    services.finish_run(api_scope("acme"), experiment.experiment_id, second.run_id, "failed")
    content = acme_admin.get(f"/experiments/{experiment.experiment_id}/").content.decode()
    errors = content[content.index('id="latest-errors"') :]
    assert errors.index("GPU lost") < errors.index("disk full")
    assert "calm" not in errors and "slow" not in errors and "all good" not in errors
    runs = content[content.index('id="runs"') : content.index('id="latest-errors"')]
    assert first.run_id in runs and quiet.run_id in runs and 'badge-bad">failed' in runs


def test_an_experiment_without_errors_says_so(acme_admin, make_experiment, make_run):
    experiment = make_experiment()
    make_run(experiment)
    assert (
        "No errors in the latest runs"
        in acme_admin.get(f"/experiments/{experiment.experiment_id}/").content.decode()
    )


def test_it_answers_404_for_another_tenants_or_an_unknown_experiment(
    globex_admin, acme_admin, make_experiment
):
    experiment = make_experiment("acme")
    assert globex_admin.get(f"/experiments/{experiment.experiment_id}/").status_code == 404
    assert acme_admin.get("/experiments/exp_nope/").status_code == 404
