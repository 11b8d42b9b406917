"""GET /api/analytics/execution: the overview's figures as JSON for machines."""

from __future__ import annotations

from datetime import timedelta

from tests.analytics.conftest import run, slug


def test_it_answers_the_overview_figures(tenant):
    agent = slug("agent")
    tenant.post(agent, run("a", model="gpt-4o", ago=timedelta(days=1)))
    tenant.post(agent, run("b", model="gpt-4o", ago=timedelta(days=9)))
    status, body = tenant.get("/api/analytics/execution", period="7")
    assert status == 200
    assert body["tenant_id"] == tenant.tenant_id
    assert body["period"]["days"] == 7
    assert body["current"]["cost_micro_usd"] == 7_500 and body["current"]["executions"] == 1
    assert body["previous"]["executions"] == 1
    assert body["changes"]["cost"] == 0.0
    assert body["top_agents"][0]["value"] == agent
    assert sum(sum(v) for v in body["daily"]["cost_micro_usd_by_model"].values()) == 7_500
    assert body["budget"]["state"] == "none"


def test_it_only_ever_reads_the_keys_tenant(tenant_factory):
    mine, theirs = tenant_factory(), tenant_factory()
    theirs.post(slug("agent"), run(model="gpt-4o"))
    status, body = mine.get("/api/analytics/execution", period="30", tenant=theirs.tenant_id)
    assert status == 200
    assert body["tenant_id"] == mine.tenant_id
    assert body["current"]["executions"] == 0


def test_a_bad_period_is_a_json_error(tenant):
    status, body = tenant.get("/api/analytics/execution", period="12")
    assert status == 422
    assert body["error"]["code"] == "invalid" and "period" in body["error"]["fields"]


def test_it_needs_an_api_key(client):
    assert client.get("/api/analytics/execution").status_code == 401
