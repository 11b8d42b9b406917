"""POST /api/agents/{agentId}/runs: record one run or a batch, idempotently, with its rollups."""

from __future__ import annotations

from datetime import timedelta

from dashboard.analytics.models import Execution
from dashboard.analytics.services import TEXT_LIMIT
from tests.analytics.conftest import raw_executions, recomputed_rollups, run, slug, stored_rollups


def test_it_records_one_run_and_its_rollups(tenant):
    agent = slug("agent")
    status, body = tenant.post(agent, run("exe-1", tokens_in=2000, tokens_out=1000))
    assert status == 201
    assert body["recorded"] == 1
    assert body["runs"][0] == {
        "execution_id": "exe-1",
        "result": "recorded",
        "cost_micro_usd": 900,  # 2000 × $0.15/M + 1000 × $0.60/M
        "started_at": body["runs"][0]["started_at"],
    }
    [execution] = raw_executions(tenant.tenant_id)
    assert (execution.agent_id, execution.status, execution.cost_micro_usd) == (agent, "succeeded", 900)
    assert stored_rollups(tenant.tenant_id) == recomputed_rollups(tenant.tenant_id)
    # daily total, model, status + agent, model, user in its day, ISO week and month + its hour's
    # total, model, agent and user (the rolling 1 h and 24 h alert windows)
    assert len(stored_rollups(tenant.tenant_id)) == 16


def test_the_same_execution_id_twice_is_stored_and_counted_once(tenant):
    agent = slug("agent")
    first = run("exe-dup")
    assert tenant.post(agent, first)[0] == 201
    status, body = tenant.post(agent, first)
    assert status == 200
    assert body["runs"][0]["result"] == "already_recorded"
    assert len(raw_executions(tenant.tenant_id)) == 1
    totals = stored_rollups(tenant.tenant_id)
    assert all(row["count"] == 1 for row in totals.values())


def test_the_same_id_with_another_start_or_agent_is_still_counted_once(tenant):
    agent = slug("agent")
    tenant.post(agent, run("exe-moved", ago=timedelta(hours=1)))
    status, body = tenant.post(agent, run("exe-moved", ago=timedelta(hours=5)))
    assert (status, body["runs"][0]["result"]) == (200, "already_recorded")
    status, body = tenant.post(slug("other-agent"), run("exe-moved"))
    assert (status, body["runs"][0]["result"]) == (200, "already_recorded")
    assert len(raw_executions(tenant.tenant_id)) == 1
    assert stored_rollups(tenant.tenant_id) == recomputed_rollups(tenant.tenant_id)


def test_a_batch_records_every_run_and_reports_each(tenant):
    agent = slug("agent")
    runs = [run(f"exe-{n}", status=("succeeded", "failed", "timeout")[n % 3]) for n in range(25)]
    status, body = tenant.post(agent, {"runs": runs})
    assert status == 201
    assert body["recorded"] == 25
    assert [item["execution_id"] for item in body["runs"]] == [f"exe-{n}" for n in range(25)]
    assert len(raw_executions(tenant.tenant_id)) == 25
    assert stored_rollups(tenant.tenant_id) == recomputed_rollups(tenant.tenant_id)


def test_a_batch_with_one_bad_run_is_refused_whole_with_per_item_errors(tenant):
    agent = slug("agent")
    runs = [run("ok-1"), run("bad-1", status="exploded"), run("ok-2"), run("bad-2", tokens_in=-5)]
    status, body = tenant.post(agent, {"runs": runs})
    assert status == 422
    assert "2 of 4" in body["error"]["message"]
    assert set(body["error"]["fields"]) == {"runs[1].status", "runs[3].tokens_in"}
    assert raw_executions(tenant.tenant_id) == []
    assert stored_rollups(tenant.tenant_id) == {}


def test_a_batch_is_at_most_25_runs(tenant):
    status, body = tenant.post(slug("agent"), {"runs": [run() for _ in range(26)]})
    assert status == 422
    assert "runs" in body["error"]["fields"]
    assert raw_executions(tenant.tenant_id) == []


def test_a_batch_cannot_hold_the_same_id_twice(tenant):
    status, body = tenant.post(slug("agent"), {"runs": [run("twin"), run("twin")]})
    assert status == 422
    assert body["error"]["fields"] == {
        "runs[1].execution_id": "This execution id appears twice in the batch."
    }


def test_missing_and_malformed_fields_are_named(tenant):
    body = run()
    del body["model"]
    body["started_at"] = "yesterday-ish"
    status, answer = tenant.post(slug("agent"), body)
    assert status == 422
    assert answer["error"]["fields"]["model"] == "This field is required."
    status, answer = tenant.post(slug("agent"), run(execution_id="has#hash"))
    assert status == 422 and "execution_id" in answer["error"]["fields"]
    status, answer = tenant.post(slug("agent"), run(started_at="not a time"))
    assert status == 422 and "started_at" in answer["error"]["fields"]
    status, answer = tenant.post(slug("agent"), run(unknown_field=1))
    assert status == 422 and "Unknown field" in answer["error"]["fields"]["unknown_field"]


def test_times_must_make_sense(tenant):
    agent = slug("agent")
    assert tenant.post(agent, run(ago=-timedelta(hours=2)))[1]["error"]["fields"]["started_at"] == (
        "This time is in the future."
    )
    assert "not kept" in tenant.post(agent, run(ago=timedelta(days=181)))[1]["error"]["fields"]["started_at"]
    started = run()["started_at"]
    answer = tenant.post(agent, run(started_at=started, finished_at="2000-01-01T00:00:00Z"))[1]
    assert answer["error"]["fields"]["finished_at"] == "An execution cannot finish before it starts."
    no_duration = run()
    del no_duration["duration_ms"]
    assert (
        tenant.post(agent, no_duration)[1]["error"]["fields"]["duration_ms"]
        == "Send duration_ms or finished_at."
    )


def test_duration_comes_from_finished_at_when_not_sent(tenant):
    body = run("timed")
    del body["duration_ms"]
    body["started_at"] = "2025-11-20T10:00:00.000Z"
    body["finished_at"] = "2025-11-20T10:00:02.250Z"
    # Keep the run inside the retention window relative to the real clock.
    body["started_at"] = run()["started_at"]
    from dashboard.core.clock import iso_ms, parse_iso

    body["finished_at"] = iso_ms(parse_iso(body["started_at"]) + timedelta(milliseconds=2250))
    assert tenant.post(slug("agent"), body)[0] == 201
    [execution] = raw_executions(tenant.tenant_id)
    assert execution.duration_ms == 2250


def test_cost_sent_by_the_client_is_kept_and_missing_cost_is_priced(tenant):
    agent = slug("agent")
    tenant.post(
        agent,
        {
            "runs": [
                run("priced", model="gpt-4o-2024-08-06"),
                run("given", model="gpt-4o", cost_micro_usd=7),
                run("cached", model="gpt-4o-mini-2024-07-18", tokens_in=1000, tokens_cache_read=400),
            ]
        },
    )
    stored = {e.execution_id: e for e in raw_executions(tenant.tenant_id)}
    assert {k: (int(e.cost_micro_usd), e.price_source) for k, e in stored.items()} == {
        "priced": (1000 * 2.5 + 500 * 10, "catalogue"),  # the dated name at gpt-4o's price
        "given": (7, "client"),
        "cached": (round(600 * 0.15 + 400 * 0.075 + 500 * 0.6), "catalogue"),
    }
    assert stored["cached"].tokens_cache_read == 400
    status, page = tenant.get(f"/api/agents/{agent}/runs")
    shown = {r["execution_id"]: (r["price_source"], r["tokens_cache_read"]) for r in page["runs"]}
    assert shown["given"] == ("client", 0) and shown["cached"] == ("catalogue", 400)


def test_an_unknown_model_is_recorded_at_zero_and_labelled_unpriced(tenant):
    status, body = tenant.post(slug("agent"), run(model="home-grown-llm"))
    assert status == 201 and body["runs"][0]["cost_micro_usd"] == 0
    [execution] = raw_executions(tenant.tenant_id)
    assert (execution.price_source, int(execution.tokens_in)) == ("none", 1000)
    assert tenant.post(slug("agent"), run(model="home-grown-llm", cost_micro_usd=1234))[0] == 201


def test_long_input_and_output_are_truncated_and_flagged(tenant):
    tenant.post(slug("agent"), run("long", input="x" * (TEXT_LIMIT + 50), output="short"))
    [execution] = raw_executions(tenant.tenant_id)
    assert len(execution.input) == TEXT_LIMIT
    assert execution.truncated is True


def test_an_agent_name_recorded_first_by_another_tenant_is_not_squatted(tenant_factory):
    first, second = tenant_factory(), tenant_factory()
    agent = slug("support-bot")
    assert first.post(agent, run("one"))[0] == 201
    assert second.post(agent, run("one"))[0] == 201  # the same agent and execution ids, its own
    assert [e.execution_id for e in raw_executions(second.tenant_id)] == ["one"]
    assert stored_rollups(first.tenant_id) == recomputed_rollups(first.tenant_id)
    assert stored_rollups(second.tenant_id) == recomputed_rollups(second.tenant_id)
    assert [e.tenant_id for e in raw_executions(first.tenant_id)] == [first.tenant_id]


def test_it_needs_an_api_key(client):
    response = client.post("/api/agents/a/runs", data="{}", content_type="application/json")
    assert response.status_code == 401


def test_a_body_that_is_not_json_is_a_clear_error(tenant):
    from django.test import Client

    response = Client().post(
        f"/api/agents/{slug('agent')}/runs",
        data="{not json",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {tenant.token}",
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]["message"]


def test_a_list_body_is_refused(tenant):
    status, body = tenant.post(slug("agent"), [run()])
    assert status == 422
    assert Execution.by_tenant.count(tenant.tenant_id) == 0
