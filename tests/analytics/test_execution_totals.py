"""Totals of a filtered execution history are the whole set's, the same on every page and equal to
the CSV; "any failure" lets failed, timed-out and cancelled runs through together."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from dashboard.analytics import queries
from dashboard.analytics.inputs import ExecutionFilters
from dashboard.analytics.queries import history
from dashboard.dynamo.metrics import track
from tests.analytics.conftest import run, slug

URL = "/analytics/executions/"


def _csv_rows(tenant, params) -> list[dict]:
    response = tenant.client.get("/analytics/executions/export.csv", params)
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.content.decode())))


@pytest.fixture
def failing_agent(tenant):
    """An agent with 26 failed runs among 24 successes, and another agent that fails too."""
    agent = slug("agent")
    runs = [
        run(
            f"r{n:02d}",
            ago=timedelta(minutes=n + 1),
            status="failed" if n % 2 == 0 or n >= 48 else "succeeded",
        )
        for n in range(50)
    ]
    assert sum(r["status"] == "failed" for r in runs) == 26
    tenant.post(agent, {"runs": runs[:25]})
    tenant.post(agent, {"runs": runs[25:]})
    tenant.post(slug("other"), {"runs": [run(f"o{n}", status="failed") for n in range(5)]})
    return tenant, agent


def test_filtered_totals_are_the_whole_sets_on_every_page_and_equal_the_csv(failing_agent):
    tenant, agent = failing_agent
    params = {"agent": agent, "status": "failed"}
    first = tenant.client.get(URL, params)
    assert first.context["page"].next_cursor
    second = tenant.client.get(URL, {**params, "cursor": first.context["page"].next_cursor})
    shown = len(first.context["rows"]) + len(second.context["rows"])
    assert shown == 26 and len(second.context["rows"]) < 26
    one, two = first.context["totals"], second.context["totals"]
    assert one == two
    assert one.whole_set and one.count == 26 == len(_csv_rows(tenant, params))
    assert one.failure_rate == 1.0
    rows = first.context["rows"] + second.context["rows"]
    assert one.cost_micro_usd == sum(int(e.cost_micro_usd) for e in rows) > 0
    for response in (first, second):
        html = response.content.decode()
        assert 'data-figure="runs"><div class="stat-label">Runs</div><div class="stat-value">26<' in html
        assert "on every page" in html


def test_totals_without_a_rollup_take_a_bounded_number_of_calls(failing_agent):
    tenant, agent = failing_agent
    filters = ExecutionFilters(agent_id=agent, status="failed")
    with track() as stats:
        totals = queries.filtered_totals(tenant.tenant_id, filters)
    assert totals.source == "counted" and totals.count == 26 and stats.calls == 1
    with track() as stats:
        queries.filtered_totals(tenant.tenant_id, ExecutionFilters(agent_id=agent))
    assert stats.calls == 1  # a rollup holds one agent alone


def test_more_matches_than_the_totals_read_show_no_totals_rather_than_a_part(failing_agent, monkeypatch):
    tenant, agent = failing_agent
    monkeypatch.setattr(history, "TOTALS_PAGE", 10)
    monkeypatch.setattr(history, "TOTALS_CALLS", 2)
    filters = ExecutionFilters(agent_id=agent, status="failed")
    with track() as stats:
        totals = queries.filtered_totals(tenant.tenant_id, filters)
    assert not totals.whole_set and stats.calls == 2
    html = tenant.client.get(URL, {"agent": agent, "status": "failed"}).content.decode()
    assert 'id="execution-totals"' not in html
    assert "No totals: more executions match these filters than this page counts." in html


@pytest.fixture
def mixed(tenant):
    agent = slug("agent")
    statuses = ["failed", "timeout", "cancelled", "failed", "succeeded", "succeeded", "succeeded"]
    runs = [
        run(f"m{n}", ago=timedelta(minutes=n + 1), status=status, user_id="ann")
        for n, status in enumerate(statuses)
    ]
    tenant.post(agent, {"runs": runs})
    tenant.post(slug("other"), run("o-ok", user_id="bob"))
    return tenant, agent


@pytest.mark.parametrize("extra", [{}, {"agent": "AGENT"}, {"user": "ann"}, {"model": "gpt-4o-mini"}])
def test_any_failure_lists_failed_timed_out_and_cancelled_runs(mixed, extra):
    tenant, agent = mixed
    params = {"status": "any-failure", **{k: agent if v == "AGENT" else v for k, v in extra.items()}}
    response = tenant.client.get(URL, params)
    assert response.status_code == 200
    rows = response.context["rows"]
    assert sorted(e.execution_id for e in rows) == ["m0", "m1", "m2", "m3"]
    totals = response.context["totals"]
    assert totals.whole_set and totals.count == 4 and totals.failures == 4
    assert sorted(row["status"] for row in _csv_rows(tenant, params)) == [
        "cancelled",
        "failed",
        "failed",
        "timeout",
    ]
    html = response.content.decode()
    assert '<option value="any-failure" selected>Any failure</option>' in html


def test_the_api_lists_an_agents_runs_of_any_failure(mixed):
    tenant, agent = mixed
    status, body = tenant.get(f"/api/agents/{agent}/runs", status="any-failure")
    assert status == 200
    assert sorted(r["execution_id"] for r in body["runs"]) == ["m0", "m1", "m2", "m3"]
