"""Saved views of the log viewer: filters kept under a name for the experiment, shared with the tenant."""

import html
import re

from dashboard.accounts import services as accounts
from dashboard.audit.models import AuditEvent
from tests.conftest import PASSWORD, client_for, unique


def _save_url(run) -> str:
    return f"/experiments/{run.experiment_id}/runs/{run.run_id}/logs/views/"


def _views(content: bytes) -> dict[str, str]:
    found = re.findall(r'<a class="saved-view" href="([^"]+)">(.*?)</a>', content.decode())
    return {html.unescape(name): html.unescape(href) for href, name in found}


def test_a_saved_view_opens_with_its_filters_on_every_run_for_everyone_of_the_tenant(
    acme_admin, make_experiment, make_run, write, base_ms
):
    experiment = make_experiment()
    first, second = make_run(experiment), make_run(experiment)
    write(second, [("error", "CUDA error 7", base_ms, 0), ("info", "fine", base_ms + 1, 1)])
    response = acme_admin.post(
        _save_url(first), {"name": "GPU errors", "severity": "error", "q": "CUDA.*\\d", "regex": "1"}
    )
    assert response.status_code == 302 and "severity=error" in response["Location"]
    colleague = accounts.create_user(
        f"{unique('ops')}@acme.test", PASSWORD, "tenant_admin", "acme", "Colleague"
    )
    other = client_for(colleague)
    page = other.get(f"/experiments/{experiment.experiment_id}/runs/{second.run_id}/logs/")
    views = _views(page.content)
    assert set(views) == {"GPU errors"}
    opened = other.get(views["GPU errors"])
    found = re.findall(r'<span class="msg">(.*?)</span>', opened.content.decode(), re.S)
    assert [re.sub(r"</?mark>", "", m) for m in found] == ["CUDA error 7"]


def test_a_view_with_a_bad_filter_or_no_name_is_refused_and_nothing_is_saved(
    acme_admin, make_experiment, make_run
):
    run = make_run(make_experiment())
    bad = acme_admin.post(_save_url(run), {"name": "broken", "q": "(", "regex": "1"}, follow=True)
    assert "not valid" in html.unescape(bad.content.decode())
    unnamed = acme_admin.post(_save_url(run), {"name": " ", "severity": "error"}, follow=True)
    assert "Name the view" in html.unescape(unnamed.content.decode())
    assert _views(acme_admin.get(f"/experiments/{run.experiment_id}/runs/{run.run_id}/logs/").content) == {}


def test_another_tenant_cannot_save_a_view_on_this_experiment(globex_admin, make_experiment, make_run):
    run = make_run(make_experiment())
    response = globex_admin.post(_save_url(run), {"name": "x", "severity": "error"})
    assert response.status_code == 404


def _delete_url(run) -> str:
    return f"/experiments/{run.experiment_id}/runs/{run.run_id}/logs/views/delete/"


def test_a_saved_view_is_deleted_for_everyone_and_audited_and_a_second_delete_says_it_is_gone(
    acme_admin, make_experiment, make_run
):
    run = make_run(make_experiment())
    for name in ("GPU errors", "Warnings"):
        acme_admin.post(
            _save_url(run), {"name": name, "severity": "error" if name == "GPU errors" else "warning"}
        )
    page_url = f"/experiments/{run.experiment_id}/runs/{run.run_id}/logs/"
    assert set(_views(acme_admin.get(page_url).content)) == {"GPU errors", "Warnings"}
    deleted = acme_admin.post(_delete_url(run), {"name": "GPU errors"}, follow=True)
    assert "Deleted the view “GPU errors”" in html.unescape(deleted.content.decode())
    assert set(_views(acme_admin.get(page_url).content)) == {"Warnings"}
    deletions = [
        e.changes
        for e in AuditEvent.query("acme")
        if e.action == "logs.view.delete" and e.target_id == run.experiment_id
    ]
    assert deletions == [{"GPU errors": "deleted"}]
    again = acme_admin.post(_delete_url(run), {"name": "GPU errors"}, follow=True)
    assert "no saved view “GPU errors” any more" in html.unescape(again.content.decode())
    assert set(_views(acme_admin.get(page_url).content)) == {"Warnings"}


def test_another_tenant_cannot_delete_a_view_of_this_experiment(
    acme_admin, globex_admin, make_experiment, make_run
):
    run = make_run(make_experiment())
    acme_admin.post(_save_url(run), {"name": "Mine", "severity": "error"})
    assert globex_admin.post(_delete_url(run), {"name": "Mine"}).status_code == 404
    assert set(
        _views(acme_admin.get(f"/experiments/{run.experiment_id}/runs/{run.run_id}/logs/").content)
    ) == {"Mine"}
