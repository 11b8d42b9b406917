"""The cost overview (/analytics/): figures, change against the previous period, tops, roles."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.analytics.conftest import run, slug
from tests.conftest import client_for


@pytest.fixture
def week(tenant):
    """Three runs in the last 7 days and one in the 7 days before, with known costs."""
    support, coder = slug("support"), slug("coder")
    tenant.post(support, run("a", model="gpt-4o-mini", ago=timedelta(days=1), user_id="ann", duration_ms=800))
    tenant.post(coder, run("b", model="gpt-4o", ago=timedelta(days=2), user_id="bob", duration_ms=3000))
    tenant.post(
        support,
        run("c", model="gpt-4o-mini", ago=timedelta(days=3), user_id="ann", status="failed", tokens_out=0),
    )
    tenant.post(support, run("old", model="gpt-4o-mini", ago=timedelta(days=10), user_id="ann"))
    return tenant, support, coder


def test_it_shows_the_headline_figures_and_their_change(week):
    tenant, support, coder = week
    response = tenant.client.get("/analytics/?period=7")
    assert response.status_code == 200
    overview = response.context["overview"]
    # 450 + 7,500 + 150 µUSD now; 450 µUSD in the previous 7 days.
    assert overview.current.cost_micro_usd == 8_100
    assert overview.previous.cost_micro_usd == 450
    headlines = {h.key: h for h in overview.headlines}
    assert headlines["executions"].current == 3 and headlines["executions"].change == pytest.approx(2.0)
    assert headlines["success_rate"].current == pytest.approx(66.67, abs=0.01)
    assert headlines["success_rate"].change == pytest.approx(-33.33, abs=0.01)
    assert headlines["tokens"].current == 3000 + 1000
    html = response.content.decode()
    assert "$0.0081" in html
    assert "+1700.0 %" in html
    assert "-33.3 pts" in html


def test_top_agents_models_and_users_are_ranked_by_cost_with_their_share(week):
    tenant, support, coder = week
    overview = tenant.client.get("/analytics/?period=7").context["overview"]
    assert [(r.value, r.totals.cost_micro_usd) for r in overview.top_agents] == [
        (coder, 7_500),
        (support, 600),
    ]
    assert overview.top_agents[0].share == pytest.approx(7_500 / 8_100)
    assert [r.value for r in overview.top_models] == ["gpt-4o", "gpt-4o-mini"]
    assert [(r.value, r.totals.count) for r in overview.top_users] == [("bob", 1), ("ann", 2)]
    assert [(r.value, r.totals.count) for r in overview.statuses] == [("failed", 1)]
    assert overview.statuses[0].share == pytest.approx(1 / 3)


def test_the_daily_chart_is_stacked_by_model(week):
    tenant, *_ = week
    overview = tenant.client.get("/analytics/?period=7").context["overview"]
    chart = overview.chart_data()
    assert len(chart["labels"]) == 7
    series = {s["label"]: s["data"] for s in chart["series"]}
    assert sum(series["gpt-4o"]) == 7_500 and sum(series["gpt-4o-mini"]) == 600
    assert 'id="cost-chart-data"' in tenant.client.get("/analytics/?period=7").content.decode()


def test_a_longer_period_includes_older_runs(week):
    tenant, *_ = week
    overview = tenant.client.get("/analytics/?period=30").context["overview"]
    assert overview.current.count == 4
    assert overview.previous.count == 0


def test_a_custom_range_is_accepted_and_a_bad_one_explained(week):
    tenant, *_ = week
    from dashboard.core import clock

    today = clock.now().date()
    start = (today - timedelta(days=2)).isoformat()
    response = tenant.client.get(f"/analytics/?start={start}&end={today.isoformat()}")
    overview = response.context["overview"]
    assert overview.period.days == 3
    assert overview.current.count in (1, 2)  # runs 1 and 2 days ago (by UTC day) fall inside
    response = tenant.client.get(f"/analytics/?start={today.isoformat()}&end={start}")
    assert response.status_code == 200
    assert "That date range is not valid." in response.content.decode()
    response = tenant.client.get("/analytics/?start=2001-01-01&end=2099-01-01")
    assert "cannot end after today" in response.content.decode()


def test_a_period_change_through_htmx_answers_only_the_overview_body(week):
    tenant, *_ = week
    response = tenant.client.get("/analytics/?period=30", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="overview-body"')
    assert "<html" not in html
    assert "Last 30 days" in html


def test_nothing_recorded_shows_a_clear_empty_state(tenant):
    html = tenant.client.get("/analytics/").content.decode()
    assert "No executions in this period." in html
    assert "no earlier data" in html


def test_moderators_get_403(moderator):
    assert moderator.get("/analytics/").status_code == 403


def test_signed_out_people_are_sent_to_login(client):
    response = client.get("/analytics/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_tenant_admin_never_sees_another_tenants_figures(tenant_factory):
    mine, theirs = tenant_factory(), tenant_factory()
    secret_agent = slug("their-agent")
    theirs.post(secret_agent, run(model="gpt-4o", tokens_in=99_000))
    response = mine.client.get("/analytics/?period=90")
    assert response.context["overview"].current.count == 0
    assert secret_agent not in response.content.decode()
    assert mine.client.get(f"/analytics/?tenant={theirs.tenant_id}").status_code == 404


def test_staff_see_a_per_tenant_table_and_can_open_any_tenant(people, tenant_factory):
    one, two = tenant_factory("First Co"), tenant_factory("Second Co")
    one.post(slug("agent"), run(model="gpt-4o"))
    two.post(slug("agent"), run(model="gpt-4o-mini"))
    staff = client_for(people["staff"])
    response = staff.get("/analytics/?period=7")
    overview = response.context["overview"]
    rows = {row.tenant_id: row for row in overview.tenants}
    assert rows[one.tenant_id].current.cost_micro_usd == 7_500
    assert rows[two.tenant_id].current.cost_micro_usd == 450
    assert overview.current.cost_micro_usd == sum(row.current.cost_micro_usd for row in overview.tenants)
    html = response.content.decode()
    assert 'id="tenant-table"' in html and "First Co" in html
    assert f"tenant={one.tenant_id}" in html
    opened = staff.get(f"/analytics/?period=7&tenant={one.tenant_id}").context["overview"]
    assert opened.tenant_id == one.tenant_id and opened.current.cost_micro_usd == 7_500
    assert staff.get("/analytics/?tenant=no-such-tenant").status_code == 404


def test_staff_focused_on_a_tenant_see_that_tenant(people, tenant):
    tenant.post(slug("agent"), run(model="gpt-4o"))
    staff = client_for(people["staff"], _tenant_focus=tenant.tenant_id)
    assert staff.get("/analytics/").context["overview"].current.cost_micro_usd == 7_500
