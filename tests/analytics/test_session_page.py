"""The session page: one conversation's executions in the order they started, its cost, tokens and
failures; another tenant's session is a 404."""

from __future__ import annotations

import re
from datetime import timedelta

from dashboard.analytics.queries import people as people_queries
from dashboard.core.money import money
from tests.analytics.conftest import run


def _conversation(tenant, session_id: str) -> list[dict]:
    """Four turns of one conversation across two agents, sent out of order; one fails."""
    turns = [
        run(ago=timedelta(minutes=40), session_id=session_id, tokens_in=1000, tokens_out=200),
        run(ago=timedelta(minutes=30), session_id=session_id, tokens_in=2000, tokens_out=400),
        run(
            ago=timedelta(minutes=20),
            session_id=session_id,
            status="failed",
            error="Tool timed out",
            tokens_in=500,
            tokens_out=0,
        ),
        run(ago=timedelta(minutes=10), session_id=session_id, tokens_in=3000, tokens_out=600),
    ]
    assert tenant.post("support-bot", {"runs": [turns[3], turns[0]]})[0] == 201
    assert tenant.post("billing-bot", {"runs": [turns[2], turns[1]]})[0] == 201
    tenant.post("support-bot", run(ago=timedelta(minutes=15), session_id="another-chat"))
    tenant.post("support-bot", run(ago=timedelta(minutes=12)))  # no session at all
    return turns


def _stored(tenant, turns) -> list:
    from dashboard.analytics.queries import get_execution

    return [get_execution(tenant.scope, turn["execution_id"]) for turn in turns]


def test_it_lists_the_sessions_executions_in_the_order_they_started(tenant):
    turns = _conversation(tenant, "chat-1")
    response = tenant.client.get("/analytics/sessions/chat-1/")
    assert response.status_code == 200
    html = response.content.decode()
    shown = re.findall(r'<tr data-row="([^"]+)"', html)
    assert shown == [turn["execution_id"] for turn in turns]


def test_it_shows_the_whole_sessions_cost_tokens_and_failures(tenant):
    turns = _conversation(tenant, "chat-2")
    stored = _stored(tenant, turns)
    html = tenant.client.get("/analytics/sessions/chat-2/").content.decode()
    cost = sum(int(execution.cost_micro_usd) for execution in stored)
    assert cost > 0
    totals = html[html.index('id="session-totals"') : html.index('id="session-agents"')]
    assert money(cost) in totals
    assert "6,500 / 1,200" in totals  # tokens in / out of the four turns, not of the other runs
    assert re.search(r'data-figure="failures">.*?stat-value">1<', totals, re.S)
    failures = re.findall(r'data-failure="([^"]+)"', html)
    assert failures == [turns[2]["execution_id"]]
    assert re.findall(r'data-agent="([^"]+)"', html) == ["support-bot", "billing-bot"]


def test_another_tenants_session_is_not_found(tenant, tenant_factory):
    _conversation(tenant, "chat-3")
    other = tenant_factory("Other tenant")
    response = other.client.get("/analytics/sessions/chat-3/")
    assert response.status_code == 404
    assert "support-bot" not in response.content.decode()


def test_a_session_without_executions_is_not_found(tenant):
    assert tenant.client.get("/analytics/sessions/never-happened/").status_code == 404


def test_it_pages_the_rows_with_htmx_and_keeps_the_whole_sessions_totals(tenant, monkeypatch):
    turns = _conversation(tenant, "chat-4")
    monkeypatch.setattr(people_queries, "SESSION_PAGE", 3)
    html = tenant.client.get("/analytics/sessions/chat-4/").content.decode()
    assert re.findall(r'<tr data-row="([^"]+)"', html) == [turn["execution_id"] for turn in turns[:3]]
    next_link = re.search(r'href="(\?cursor=[^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    partial = tenant.client.get("/analytics/sessions/chat-4/" + next_link, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    body = partial.content.decode()
    assert "<html" not in body and 'id="session-rows"' in body
    assert re.findall(r'<tr data-row="([^"]+)"', body) == [turns[3]["execution_id"]]
    assert partial["Vary"] and "HX-Request" in partial["Vary"]
    # The next rows alone: 2 to know who is signed in and 1 query of rows; the figures stay as shown.
    assert int(partial["X-DynamoDB-Calls"]) == 3


def test_a_forged_cursor_is_a_clear_400(tenant):
    _conversation(tenant, "chat-5")
    assert tenant.client.get("/analytics/sessions/chat-5/?cursor=forged").status_code == 400


def test_the_execution_pages_link_to_the_session(tenant):
    turns = _conversation(tenant, "chat-6")
    detail = tenant.client.get(f"/analytics/executions/{turns[0]['execution_id']}/").content.decode()
    assert 'href="/analytics/sessions/chat-6/"' in detail
    listing = tenant.client.get("/analytics/executions/").content.decode()
    assert 'href="/analytics/sessions/chat-6/"' in listing


def test_it_reads_a_bounded_number_of_times(tenant):
    _conversation(tenant, "chat-7")
    response = tenant.client.get("/analytics/sessions/chat-7/")
    # The session's figures 1 query, its rows 1, names 0 (its users are not dashboard users).
    # 2 to know who is signed in; the session's figures 1 query, its rows 1; no names to look up (its
    # users are the tenant's end users, not dashboard users).
    assert int(response["X-DynamoDB-Calls"]) == 4


def test_a_session_longer_than_one_count_says_its_figures_are_partial(tenant, monkeypatch):
    turns = _conversation(tenant, "chat-8")
    # As if the session held more runs than the figures' calls read (thousands): 1 call of 2 runs.
    monkeypatch.setattr(people_queries, "SUMMARY_PAGE", 2)
    monkeypatch.setattr(people_queries, "SUMMARY_CALLS", 1)
    html = tenant.client.get("/analytics/sessions/chat-8/").content.decode()
    assert "the session has more" in html
    assert re.findall(r'<tr data-row="([^"]+)"', html) == [turn["execution_id"] for turn in turns]
    monkeypatch.setattr(people_queries, "SUMMARY_CALLS", 3)  # 2 + 2, and the call that finds no more
    assert "the session has more" not in tenant.client.get("/analytics/sessions/chat-8/").content.decode()


def test_executions_recorded_before_the_index_show_once_indexed(tenant):
    from io import StringIO

    from django.core.management import call_command

    from dashboard.analytics.models import Execution

    turns = _conversation(tenant, "chat-9")
    for execution in _stored(tenant, turns):  # as recorded before executions carried the key
        execution.update(actions=[Execution.session_key.remove()])
    assert tenant.client.get("/analytics/sessions/chat-9/").status_code == 404
    out = StringIO()
    call_command("index_sessions", "--tenant", tenant.tenant_id, stdout=out)
    assert f"{tenant.tenant_id}: 4 executions added" in out.getvalue()
    html = tenant.client.get("/analytics/sessions/chat-9/").content.decode()
    assert re.findall(r'<tr data-row="([^"]+)"', html) == [turn["execution_id"] for turn in turns]
    call_command("index_sessions", "--tenant", tenant.tenant_id, stdout=out)  # again: nothing to do
    assert f"{tenant.tenant_id}: 0 executions added" in out.getvalue()
