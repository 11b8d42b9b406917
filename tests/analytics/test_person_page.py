"""The person page: one end user's cost, runs and failures by day (from the rollups), their share of the
tenant's cost, their latest runs with the sessions and agents among them; links from every place a
user id appears; another tenant's person is a 404."""

from __future__ import annotations

import re
from datetime import timedelta

from dashboard.analytics import rollups
from dashboard.core import clock
from dashboard.core.money import money
from tests.analytics.conftest import raw_executions, run


def _money(micro: int) -> str:
    return money(micro)


def _history(tenant) -> None:
    """Ann's runs over three days (one failed), Bob's beside them, and one of Ann's 40 days ago."""
    runs = [
        run(ago=timedelta(days=2, hours=1), user_id="ann", session_id="ann-chat-1", tokens_in=4000),
        run(ago=timedelta(days=2), user_id="ann", session_id="ann-chat-1", status="failed", error="boom"),
        run(ago=timedelta(days=1), user_id="ann", session_id="ann-chat-2", model="gpt-4o", tokens_in=9000),
        run(ago=timedelta(hours=3), user_id="ann", tokens_out=3000),
        run(ago=timedelta(days=40), user_id="ann", tokens_in=50_000),
        run(ago=timedelta(days=1), user_id="bob", tokens_in=20_000, model="gpt-4o"),
    ]
    assert tenant.post("support-bot", {"runs": runs[:2] + runs[4:]})[0] == 201
    assert tenant.post("billing-bot", {"runs": runs[2:4]})[0] == 201


def _figure(html: str, name: str) -> str:
    return re.search(rf'data-figure="{name}">.*?stat-value">([^<]+)<', html, re.S).group(1)


def test_its_totals_equal_a_recomputation_from_the_executions(tenant):
    _history(tenant)
    html = tenant.client.get("/analytics/people/ann/?period=30").content.decode()
    today = clock.now().date()
    start = today - timedelta(days=29)
    mine = [
        e
        for e in raw_executions(tenant.tenant_id)
        if e.user_id == "ann" and start.isoformat() <= e.started_at[:10] <= today.isoformat()
    ]
    everyone = [e for e in raw_executions(tenant.tenant_id) if start.isoformat() <= e.started_at[:10]]
    assert len(mine) == 4
    cost = sum(int(e.cost_micro_usd) for e in mine)
    assert _figure(html, "cost") == _money(cost)
    assert _figure(html, "runs") == "4"
    assert _figure(html, "failures") == "1"
    share = cost / sum(int(e.cost_micro_usd) for e in everyone)
    assert 0 < share < 1
    assert _figure(html, "share") == f"{share * 100:.1f} %"
    by_day: dict[str, rollups.Totals] = {}
    for execution in mine:
        by_day.setdefault(execution.started_at[:10], rollups.Totals()).add_execution(
            execution, histogram=False
        )
    rows = re.findall(r'<tr data-day="([^"]+)">.*?<td class="num">([^<]+)</td>', html, re.S)
    assert rows == [(day, _money(by_day[day].cost_micro_usd)) for day in sorted(by_day)]


def test_it_lists_the_latest_runs_with_their_sessions_and_agents(tenant):
    _history(tenant)
    html = tenant.client.get("/analytics/people/ann/").content.decode()
    assert len(re.findall(r'<tr data-row="', html)) == 5  # the latest runs are of any time kept
    assert re.findall(r'<li data-session="([^"]+)"', html) == ["ann-chat-2", "ann-chat-1"]
    assert 'href="/analytics/sessions/ann-chat-1/"' in html
    assert set(re.findall(r'<li data-agent="([^"]+)"', html)) == {"support-bot", "billing-bot"}
    assert "bob" not in re.sub(r"<head>.*?</head>", "", html, flags=re.S)


def test_another_tenants_person_is_not_found(tenant, tenant_factory):
    _history(tenant)
    other = tenant_factory("Other tenant")
    response = other.client.get("/analytics/people/ann/")
    assert response.status_code == 404
    assert "support-bot" not in response.content.decode()


def test_a_bad_period_says_so_and_shows_the_default(tenant):
    _history(tenant)
    response = tenant.client.get("/analytics/people/ann/?start=2026-02-10&end=2026-02-01")
    assert response.status_code == 200
    assert "Showing the default period instead" in response.content.decode()


def test_it_pages_the_latest_runs_with_htmx(tenant, monkeypatch):
    from dashboard.analytics.queries import people as people_queries

    _history(tenant)
    monkeypatch.setattr(people_queries, "PAGE_SIZE", 2)
    html = tenant.client.get("/analytics/people/ann/").content.decode()
    assert len(re.findall(r'<tr data-row="', html)) == 2
    next_link = re.search(r'href="(\?cursor=[^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    partial = tenant.client.get("/analytics/people/ann/" + next_link, HTTP_HX_REQUEST="true")
    body = partial.content.decode()
    assert partial.status_code == 200 and "<html" not in body and 'id="person-runs"' in body
    assert len(re.findall(r'<tr data-row="', body)) == 2
    # Another page of runs alone: 2 to know who is signed in and 1 query of the user index.
    assert int(partial["X-DynamoDB-Calls"]) == 3


def test_every_place_a_user_id_appears_links_to_the_person(tenant):
    _history(tenant)
    execution = next(e for e in raw_executions(tenant.tenant_id) if e.user_id == "ann")
    for url in (
        "/analytics/",
        "/analytics/executions/",
        f"/analytics/executions/{execution.execution_id}/",
        f"/analytics/sessions/{'ann-chat-1'}/",
    ):
        html = tenant.client.get(url).content.decode()
        assert re.search(r'href="/analytics/people/ann/[?"]', html), url


def test_it_reads_a_bounded_number_of_times(tenant):
    _history(tenant)
    response = tenant.client.get("/analytics/people/ann/")
    # 2 to know who is signed in; the days 1 BatchGet, the tenant's total 1, the latest runs 1.
    assert int(response["X-DynamoDB-Calls"]) == 5


def test_alert_rules_and_their_notices_link_a_user_to_the_person(tenant):
    from datetime import date

    from dashboard.alerts import services as alerts
    from dashboard.alerts.drivers import executions_link
    from dashboard.alerts.inputs import RuleInput

    alerts.create_rule(
        tenant.scope,
        None,
        RuleInput(name="Ann's spend", kind="user_spend", subject="ann", limit_micro_usd=1_000, window="day"),
    )
    rules = tenant.client.get("/analytics/alerts/").content.decode()
    assert re.search(r'href="/analytics/people/ann/[?"]', rules)
    # The drivers a notice carries: a user's link opens their page over the window.
    link = executions_link("user", "ann", date(2026, 11, 1), date(2026, 11, 30))
    assert link.endswith("/analytics/people/ann/?start=2026-11-01&end=2026-11-30")
