"""The execution list people work with: totals of the filtered set, sorting, CSV, going back, and
an unknown agent or user answered with suggestions instead of an error page."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from tests.analytics.conftest import raw_executions, run, slug


def _ids(response) -> list[str]:
    return [execution.execution_id for execution in response.context["rows"]]


def test_totals_cover_every_match_not_only_the_page(tenant):
    agent, other = slug("agent"), slug("other")
    runs = [
        run(f"t{n:02d}", ago=timedelta(minutes=n + 1), status="failed" if n < 6 else "succeeded")
        for n in range(30)
    ]
    tenant.post(agent, {"runs": runs[:20]})
    tenant.post(agent, {"runs": runs[20:]})
    tenant.post(other, run("elsewhere"))
    response = tenant.client.get("/analytics/executions/", {"agent": agent})
    assert len(_ids(response)) == 25
    totals = response.context["totals"]
    stored = [e for e in raw_executions(tenant.tenant_id) if e.agent_id == agent]
    assert totals.whole_set and totals.count == 30
    assert totals.cost_micro_usd == sum(int(e.cost_micro_usd) for e in stored) > 0
    html = response.content.decode()
    assert "20.0 %" in html  # 6 of 30 failed
    assert tenant.client.get("/analytics/executions/").context["totals"].count == 31


def test_rows_sort_by_cost_or_duration(tenant):
    agent = slug("agent")
    tenant.post(
        agent,
        {
            "runs": [
                run("cheap-long", tokens_in=10, tokens_out=10, duration_ms=90_000, ago=timedelta(minutes=1)),
                run(
                    "dear-short",
                    tokens_in=90_000,
                    tokens_out=9_000,
                    duration_ms=100,
                    ago=timedelta(minutes=2),
                ),
                run("middle", tokens_in=5_000, tokens_out=500, duration_ms=5_000, ago=timedelta(minutes=3)),
            ]
        },
    )
    get = lambda sort: _ids(tenant.client.get("/analytics/executions/", {"agent": agent, "sort": sort}))  # noqa: E731
    assert get("started") == ["cheap-long", "dear-short", "middle"]
    assert get("cost") == ["dear-short", "middle", "cheap-long"]
    assert get("duration") == ["cheap-long", "middle", "dear-short"]


def test_the_csv_holds_the_filtered_list(tenant):
    agent = slug("agent")
    tenant.post(agent, {"runs": [run("ok"), run("bad", status="failed", error="boom")]})
    tenant.post(slug("other"), run("not-mine"))
    page = tenant.client.get("/analytics/executions/", {"agent": agent}).content.decode()
    link = (
        re.search(r'href="(/analytics/executions/export\.csv\?[^"]*)"', page).group(1).replace("&amp;", "&")
    )
    response = tenant.client.get(link)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert sorted(row["execution_id"] for row in rows) == ["bad", "ok"]
    assert {row["agent_id"] for row in rows} == {agent}


def test_a_later_page_links_back_to_the_one_before(tenant):
    agent = slug("agent")
    for low in (0, 20, 40):
        runs = [run(f"p{n:02d}", ago=timedelta(minutes=n + 1)) for n in range(low, min(low + 20, 55))]
        assert tenant.post(agent, {"runs": runs})[0] == 201
    first = tenant.client.get("/analytics/executions/", {"agent": agent})
    assert "Previous page" not in first.content.decode()
    second = tenant.client.get(
        "/analytics/executions/", {"agent": agent, "cursor": first.context["page"].next_cursor}
    )
    third = tenant.client.get(
        "/analytics/executions/", {"agent": agent, "cursor": second.context["page"].next_cursor}
    )
    assert _ids(third) == [f"p{n:02d}" for n in range(50, 55)]
    back = tenant.client.get(
        "/analytics/executions/", {"agent": agent, "before": third.context["page"].prev_cursor}
    )
    assert _ids(back) == _ids(second)
    assert "Previous page" in back.content.decode()
    home = tenant.client.get(
        "/analytics/executions/", {"agent": agent, "before": back.context["page"].prev_cursor}
    )
    assert _ids(home) == _ids(first)
    assert home.context["page"].prev_cursor is None


def test_an_unknown_agent_or_user_says_no_match_and_suggests_names(tenant):
    agent = slug("support-triage")
    tenant.post(agent, run("seen", user_id="ann"))
    for params in (
        {"agent": agent + "x"},
        {"user": "anne"},
        {"agent": "no such agent!"[:8].replace(" ", "-")},
    ):
        response = tenant.client.get("/analytics/executions/", params)
        assert response.status_code == 200, params
        html = response.content.decode()
        assert "No executions match these filters." in html
        assert 'id="filter-suggestions"' in html
    html = tenant.client.get("/analytics/executions/", {"agent": agent + "x"}).content.decode()
    assert f"agent={agent}" in html  # "did you mean" links to the agent that exists


def test_dashboard_users_show_by_name_with_their_email_on_hover(tenant):
    tenant.post(slug("agent"), run("by-admin", user_id=tenant.admin.user_id))
    html = tenant.client.get("/analytics/executions/").content.decode()
    assert f'<span title="{tenant.admin.email}">{tenant.admin.name}</span>' in html


def test_the_csv_never_holds_another_tenants_executions(tenant, tenant_factory):
    agent = slug("agent")
    tenant.post(agent, run("theirs-only"))
    other = tenant_factory("Other tenant")
    for params in ({"agent": agent}, {"agent": agent, "tenant": tenant.tenant_id}, {}):
        response = other.client.get("/analytics/executions/export.csv", params)
        assert "theirs-only" not in response.content.decode(), params
        page = other.client.get("/analytics/executions/", params)
        assert page.status_code in (200, 404) and "theirs-only" not in page.content.decode()
