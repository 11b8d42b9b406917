"""GET /api/agents/{agentId}/runs: an agent's runs, newest first, filtered, with a cursor."""

from __future__ import annotations

from datetime import timedelta

from tests.analytics.conftest import run, slug


def test_it_lists_an_agents_runs_newest_first_with_a_cursor(tenant):
    agent = slug("agent")
    tenant.post(agent, {"runs": [run(f"r{n}", ago=timedelta(minutes=10 * n)) for n in range(7)]})
    seen, cursor = [], None
    for _ in range(5):
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        status, body = tenant.get(f"/api/agents/{agent}/runs", **params)
        assert status == 200
        seen += [item["execution_id"] for item in body["runs"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == [f"r{n}" for n in range(7)]


def test_filters_narrow_the_list(tenant):
    agent = slug("agent")
    tenant.post(
        agent,
        {
            "runs": [
                run("ok", user_id="ann", model="gpt-4o"),
                run("bad", user_id="ann", status="failed"),
                run("bob", user_id="bob", status="failed"),
            ]
        },
    )
    ids = lambda **p: [r["execution_id"] for r in tenant.get(f"/api/agents/{agent}/runs", **p)[1]["runs"]]  # noqa: E731
    assert sorted(ids(status="failed")) == ["bad", "bob"]
    assert ids(status="failed", user="ann") == ["bad"]
    assert ids(model="gpt-4o") == ["ok"]


def test_an_agent_of_the_same_name_in_another_tenant_is_that_tenants_own(tenant_factory):
    owner, other = tenant_factory(), tenant_factory()
    agent = slug("agent")
    owner.post(agent, run("mine"))
    status, body = other.get(f"/api/agents/{agent}/runs")
    assert status == 200 and body["runs"] == []
    other.post(agent, run("theirs"))
    assert [r["execution_id"] for r in owner.get(f"/api/agents/{agent}/runs")[1]["runs"]] == ["mine"]
    assert [r["execution_id"] for r in other.get(f"/api/agents/{agent}/runs")[1]["runs"]] == ["theirs"]


def test_bad_filters_and_cursors_are_clear_errors(tenant):
    agent = slug("agent")
    tenant.post(agent, run())
    assert tenant.get(f"/api/agents/{agent}/runs", status="exploded")[0] == 422
    assert tenant.get(f"/api/agents/{agent}/runs", limit="1000")[0] == 422
    assert tenant.get(f"/api/agents/{agent}/runs", cursor="forged")[0] == 422  # well-formed, not ours
