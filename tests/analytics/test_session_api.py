"""GET /api/analytics/sessions/{sessionId}: one conversation's runs oldest first, its totals, agents and
failures; another tenant's session is a 404."""

from __future__ import annotations

from datetime import timedelta

from dashboard.analytics.queries import people as people_queries
from tests.analytics.conftest import run


def _turns(tenant, session_id: str) -> list[dict]:
    turns = [
        run(ago=timedelta(minutes=30), session_id=session_id, tokens_in=1000, tokens_out=100),
        run(ago=timedelta(minutes=20), session_id=session_id, status="timeout", tokens_in=10, tokens_out=0),
        run(ago=timedelta(minutes=10), session_id=session_id, tokens_in=2000, tokens_out=300),
    ]
    assert tenant.post("planner", {"runs": [turns[2], turns[0]]})[0] == 201
    assert tenant.post("writer", turns[1])[0] == 201
    assert tenant.post("writer", run(session_id="elsewhere"))[0] == 201
    return turns


def test_it_answers_the_sessions_runs_in_order_with_its_totals(tenant):
    turns = _turns(tenant, "api-chat")
    status, body = tenant.get("/api/analytics/sessions/api-chat")
    assert status == 200
    assert [item["execution_id"] for item in body["runs"]] == [turn["execution_id"] for turn in turns]
    assert body["totals"]["executions"] == 3 and body["totals"]["failures"] == 1
    assert body["totals"]["tokens_in"] == 3010 and body["totals"]["tokens_out"] == 400
    assert body["totals"]["cost_micro_usd"] == sum(item["cost_micro_usd"] for item in body["runs"])
    assert [a["agent_id"] for a in body["agents"]] == ["planner", "writer"]
    assert [f["execution_id"] for f in body["failures"]] == [turns[1]["execution_id"]]
    assert body["complete"] is True and body["next_cursor"] is None


def test_it_pages_with_a_cursor_and_the_totals_stay_whole(tenant, monkeypatch):
    turns = _turns(tenant, "api-paged")
    monkeypatch.setattr(people_queries, "SESSION_PAGE", 2)
    status, first = tenant.get("/api/analytics/sessions/api-paged")
    assert status == 200 and len(first["runs"]) == 2 and first["next_cursor"]
    status, second = tenant.get("/api/analytics/sessions/api-paged", cursor=first["next_cursor"])
    assert [item["execution_id"] for item in second["runs"]] == [turns[2]["execution_id"]]
    assert second["totals"] == first["totals"] and second["totals"]["executions"] == 3


def test_another_tenants_session_is_a_404(tenant, tenant_factory):
    _turns(tenant, "api-private")
    other = tenant_factory("Other tenant")
    status, body = other.get("/api/analytics/sessions/api-private")
    assert status == 404 and body["error"]["code"] == "not_found"


def test_a_forged_cursor_is_a_422_naming_it(tenant):
    _turns(tenant, "api-forged")
    status, body = tenant.get("/api/analytics/sessions/api-forged", cursor="forged")
    assert status == 422 and "cursor" in body["error"]["fields"]  # as every list of the API
