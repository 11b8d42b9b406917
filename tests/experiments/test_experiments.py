"""The experiments page (/experiments/) and its per-experiment status polling."""

from dashboard.experiments import services
from tests.experiments.conftest import api_scope

HTMX = {"HX-Request": "true"}


def test_it_lists_the_tenants_experiments_with_their_runs_and_counts(
    acme_admin, make_experiment, make_run, write, base_ms
):
    experiment = make_experiment(name="Dropout sweep")
    run = make_run(experiment, name="dropout-0.3")
    write(run, [("error", "e", base_ms, 0), ("error", "e2", base_ms, 1), ("warning", "w", base_ms, 2)])
    content = acme_admin.get("/experiments/").content.decode()
    assert "Dropout sweep" in content
    card = content[content.index(f'id="experiment-{experiment.experiment_id}"') :]
    card = card[: card.index("</section>")]
    assert "dropout-0.3" in card and 'badge-info">running' in card
    assert '<span class="count-bad">2</span>' in card and '<span class="count-warn">1</span>' in card
    assert f"/experiments/{experiment.experiment_id}/runs/{run.run_id}/logs/" in card
    assert 'hx-trigger="every 3s"' in card  # a running run: its card refreshes


def test_it_never_shows_another_tenants_experiments(globex_admin, make_experiment):
    experiment = make_experiment("acme", name="Acme only experiment")
    content = globex_admin.get("/experiments/").content.decode()
    assert "Acme only experiment" not in content
    assert globex_admin.get(f"/experiments/{experiment.experiment_id}/card/", headers=HTMX).status_code == 404


def test_a_cards_poll_refreshes_statuses_and_stops_with_286_when_no_run_is_running(
    acme_admin, make_experiment, make_run
):
    experiment = make_experiment()
    run = make_run(experiment)
    url = f"/experiments/{experiment.experiment_id}/card/"
    running = acme_admin.get(url, headers=HTMX)
    assert running.status_code == 200 and b"running" in running.content
    services.finish_run(api_scope("acme"), experiment.experiment_id, run.run_id, "succeeded")
    finished = acme_admin.get(url, headers=HTMX)
    assert finished.status_code == 286
    assert b'badge-ok">succeeded' in finished.content
    assert b"hx-trigger" not in finished.content


def test_staff_without_a_tenant_see_whats_running_everywhere(staff, make_experiment, make_run):
    run = make_run(make_experiment("globex"), name="globex-live-run")
    content = staff.get("/experiments/").content.decode()
    assert "Running now" in content and "globex-live-run" in content
    assert f"/runs/{run.run_id}/logs/" in content


def test_staff_focused_on_a_tenant_see_its_experiments(people, make_experiment):
    from tests.conftest import client_for

    make_experiment("globex", name="Globex focus experiment")
    content = client_for(people["staff"], _tenant_focus="globex").get("/experiments/").content.decode()
    assert "Globex focus experiment" in content


def test_moderators_are_refused(moderator):
    assert moderator.get("/experiments/").status_code == 403
