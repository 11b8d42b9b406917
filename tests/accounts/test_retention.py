"""Retention per tenant, exact on DynamoDB Local: staff shorten it, new writes carry the new TTLs, a
resumable job brings stored items within it; rollups and every other tenant are left alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from dashboard.accounts import services as accounts
from dashboard.accounts.access import TENANT_FOCUS_KEY, scope_for_user
from dashboard.accounts.queries import get_tenant, retention_of
from dashboard.analytics import services as analytics_services
from dashboard.analytics.models import Execution
from dashboard.audit.models import AuditEvent
from dashboard.core import clock
from dashboard.core.clock import parse_iso
from dashboard.core.errors import ValidationFailed
from dashboard.experiments import queries as experiment_queries
from dashboard.experiments.inputs import LogFilters
from dashboard.experiments.models import RunLogLine
from dashboard.operations import retention
from tests.analytics.conftest import make_tenant, run, stored_rollups
from tests.experiments.conftest import api_scope, make_experiment, make_run, write  # noqa: F401

DAY = timedelta(days=1)


def executions(tenant_id: str) -> dict[str, Execution]:
    """Each of the tenant's executions as the table holds it (a consistent GetItem, not the index copy)."""
    found = {}
    for seen in Execution.by_tenant.query(tenant_id):
        found[seen.execution_id] = Execution.get(seen.agent_key, seen.sk, consistent_read=True)
    return found


def log_lines(tenant_id: str) -> dict[str, RunLogLine]:
    return {line.message: line for line in RunLogLine.by_tenant.query(tenant_id)}


def seed(tenant, make_experiment, make_run, write) -> None:  # noqa: F811
    for days in (10, 40, 100):
        status, _ = tenant.post("agent-r", run(f"e{days}", ago=days * DAY, input="secret prompt"))
        assert status == 201
    experiment = make_experiment(tenant.tenant_id)
    now_ms = clock.epoch_ms(clock.now())
    write(
        make_run(experiment), [("info", f"line {days}d", now_ms - days * 86_400_000) for days in (2, 10, 20)]
    )
    return experiment


def test_shortening_applies_to_stored_items_resumably_and_touches_nothing_else(
    people,
    make_experiment,  # noqa: F811 — the experiments area's fixtures, imported above
    make_run,  # noqa: F811
    write,  # noqa: F811
    monkeypatch,
):
    tenant, other = make_tenant(people), make_tenant(people)
    experiment = seed(tenant, make_experiment, make_run, write)
    seed(other, make_experiment, make_run, write)
    rollups_before, other_before = stored_rollups(tenant.tenant_id), executions(other.tenant_id)
    other_lines_before = log_lines(other.tenant_id)
    staff = scope_for_user(people["staff"])

    accounts.set_retention(staff, tenant.tenant_id, executions_days=60, content_days=30, logs_days=7)
    # A page of one item, stopped after two pages of executions (after the one page of the spans phase:
    # this tenant sent no traces): the job records where it was and resumes there.
    monkeypatch.setattr(analytics_services, "RETENTION_PAGE", 1)
    partial = retention.run(tenant.tenant_id, pages=3)
    assert (partial["status"], partial["phase"], partial["seen"]) == ("running", "executions", 2)
    assert get_tenant(tenant.tenant_id).retention_job["cursor"] is not None
    assert retention.run_queued() == 0  # a running job with a fresh heartbeat belongs to its worker
    done = retention.run(tenant.tenant_id)
    assert (done["status"], done["seen"]) == ("done", 3 + 3)  # each execution and line read once
    assert (done["expired"], done["content_removed"], done["logs_expired"]) == (1, 2, 3)

    now = clock.now()
    stored = executions(tenant.tenant_id)
    for days, execution in ((10, stored["e10"]), (40, stored["e40"]), (100, stored["e100"])):
        started = parse_iso(execution.started_at)
        assert execution.expires_at == whole(started + 60 * DAY)
        assert execution.content_expires_at == int((started + 30 * DAY).timestamp())
        # Content past 30 days is gone from the item itself (not merely hidden on read).
        assert (execution.input, execution.content_hidden) == (
            ("secret prompt", False) if days < 30 else (None, False)
        )
    assert stored["e100"].expires_at <= now  # past 60 days: hidden from reads, deleted by DynamoDB
    listed = {e.execution_id for e in tenant_runs(tenant)}
    assert listed == {"e10", "e40"}

    lines = log_lines(tenant.tenant_id)
    assert all(line.expires_at == whole(parse_ms(line.ts_ms) + 7 * DAY) for line in lines.values())
    page = experiment_queries.list_lines(api_scope(tenant.tenant_id), experiment.experiment_id, LogFilters())
    assert [line.message for line in page.items] == ["line 2d"]

    # Rollups are kept whole; the other tenant is untouched, item for item.
    assert stored_rollups(tenant.tenant_id) == rollups_before
    assert {k: (e.expires_at, e.input) for k, e in executions(other.tenant_id).items()} == {
        k: (e.expires_at, e.input) for k, e in other_before.items()
    }
    assert {k: line.expires_at for k, line in log_lines(other.tenant_id).items()} == {
        k: line.expires_at for k, line in other_lines_before.items()
    }
    [event] = [e for e in AuditEvent.query(tenant.tenant_id) if e.action == "tenant.retention"]
    assert event.changes == {"executions_days": [180, 60], "content_days": [180, 30], "logs_days": [30, 7]}


def tenant_runs(tenant):
    status, body = tenant.get("/api/agents/agent-r/runs")
    assert status == 200
    return [type("Run", (), {"execution_id": item["execution_id"]}) for item in body["runs"]]


def whole(moment):
    """A TTL is stored in whole epoch seconds."""
    return moment.replace(microsecond=0)


def parse_ms(ts_ms):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(int(ts_ms) / 1000, UTC)


def test_new_writes_carry_the_tenants_ttls(people, make_experiment, make_run, write):  # noqa: F811
    tenant = make_tenant(people)
    accounts.set_retention(scope_for_user(people["staff"]), tenant.tenant_id, 90, 14, 5)
    assert retention_of(tenant.tenant_id).executions_days == 90
    tenant.post("agent-n", run("fresh", ago=DAY))
    [fresh] = executions(tenant.tenant_id).values()
    started = parse_iso(fresh.started_at)
    assert (fresh.expires_at, fresh.content_expires_at) == (
        whole(started + 90 * DAY),
        int((started + 14 * DAY).timestamp()),
    )
    experiment = make_experiment(tenant.tenant_id)
    write(make_run(experiment), [("info", "new line", clock.epoch_ms(clock.now()))])
    [line] = log_lines(tenant.tenant_id).values()
    assert line.expires_at == whole(parse_ms(line.ts_ms) + 5 * DAY)


@pytest.mark.parametrize(
    ("days", "field"),
    [
        ((0, 0, 0), "executions_days"),
        ((30, 60, 7), "content_days"),
        ((30, 10, 31), "logs_days"),
        ((731, 1, 1), "executions_days"),
    ],
)
def test_a_retention_that_breaks_a_rule_is_refused_and_changes_nothing(people, days, field):
    tenant = make_tenant(people)
    with pytest.raises(ValidationFailed) as refused:
        accounts.set_retention(scope_for_user(people["staff"]), tenant.tenant_id, *days)
    assert field in refused.value.fields
    assert get_tenant(tenant.tenant_id).retention_executions_days is None


def test_a_tenant_admin_reads_the_retention_but_cannot_change_it(people):
    tenant = make_tenant(people)
    accounts.set_retention(scope_for_user(people["staff"]), tenant.tenant_id, 120, 20, 10)
    page = tenant.client.get("/account/retention/")
    assert page.status_code == 200
    assert b"120 days" in page.content and b"Save retention" not in page.content
    refused = tenant.client.post(
        "/account/retention/", {"executions_days": 1, "content_days": 1, "logs_days": 1}
    )
    assert refused.status_code == 403
    assert get_tenant(tenant.tenant_id).retention_executions_days == 120
    # Another tenant's admin sees their own tenant's retention, never this one's.
    elsewhere = make_tenant(people).client.get("/account/retention/").content
    assert b"180 days" in elsewhere and b"120 days" not in elsewhere


@pytest.mark.browser
def test_staff_shorten_a_retention_and_watch_the_job_finish(people, page_as):
    tenant = make_tenant(people, "Retention tenant")
    tenant.post("agent-b", run("old", ago=50 * DAY, input="old prompt"))
    page = page_as(people["staff"], **{TENANT_FOCUS_KEY: tenant.tenant_id})
    page.goto("/account/retention/")
    page.get_by_label("Executions (cost records), days").fill("40")
    page.get_by_label("Inputs and outputs, days").fill("20")
    page.get_by_label("Run log lines, days").fill("7")
    page.get_by_role("button", name="Save retention").click()
    expect(page.locator('[data-kept="executions"]')).to_have_text("40 days")
    expect(page.locator("#retention-job [data-status]")).to_have_text("queued")
    retention.run_queued()  # the background worker's pass
    # The page polls the job's progress and stops once it is done.
    expect(page.locator("#retention-job [data-status]")).to_have_text("done", timeout=15_000)
    expect(page.locator('#retention-job [data-count="expired"]')).to_have_text("1")
