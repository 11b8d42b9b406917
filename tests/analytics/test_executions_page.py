"""Execution history (/analytics/executions/) and an execution's detail page."""

from __future__ import annotations

from datetime import timedelta

from dashboard.analytics.models import EXECUTION_TTL_DAYS, Execution, scoped_key
from dashboard.core import clock
from dashboard.core.clock import iso_ms
from tests.analytics.conftest import run, slug
from tests.conftest import client_for


def _ids(response) -> list[str]:
    return [execution.execution_id for execution in response.context["page"]]


def test_it_lists_the_tenants_executions_newest_first(tenant):
    agent = slug("agent")
    tenant.post(agent, {"runs": [run(f"e{n}", ago=timedelta(hours=n + 1)) for n in range(4)]})
    response = tenant.client.get("/analytics/executions/")
    assert response.status_code == 200
    assert _ids(response) == ["e0", "e1", "e2", "e3"]
    assert agent in response.content.decode()


def test_filters_by_agent_status_user_model_and_dates(tenant):
    one, two = slug("one"), slug("two")
    tenant.post(one, run("a", user_id="ann", model="gpt-4o", ago=timedelta(days=3)))
    tenant.post(one, run("b", user_id="bob", status="failed"))
    tenant.post(two, run("c", user_id="ann", status="timeout"))
    get = lambda query: _ids(tenant.client.get(f"/analytics/executions/?{query}"))  # noqa: E731
    assert get(f"agent={one}") == ["b", "a"]
    assert get("status=failed") == ["b"]
    assert get(f"agent={one}&status=failed") == ["b"]
    assert get("user=ann") == ["c", "a"]
    assert get("model=gpt-4o") == ["a"]
    today = clock.now().date()
    assert get(f"start={(today - timedelta(days=1)).isoformat()}") == ["c", "b"]
    assert get(f"end={(today - timedelta(days=2)).isoformat()}") == ["a"]


def test_pages_follow_the_cursor(tenant):
    agent = slug("agent")
    tenant.post(agent, {"runs": [run(f"p{n:02d}", ago=timedelta(minutes=n + 1)) for n in range(25)]})
    tenant.post(agent, {"runs": [run(f"p{n:02d}", ago=timedelta(minutes=n + 1)) for n in range(25, 30)]})
    first = tenant.client.get("/analytics/executions/")
    assert len(_ids(first)) == 25
    cursor = first.context["page"].next_cursor
    assert cursor and "Next page" in first.content.decode()
    second = tenant.client.get("/analytics/executions/", {"cursor": cursor}, HTTP_HX_REQUEST="true")
    assert _ids(second) == [f"p{n:02d}" for n in range(25, 30)]
    assert second.content.decode().lstrip().startswith('<section class="card" id="executions-table"')


def test_a_filter_change_through_htmx_answers_only_the_table(tenant):
    tenant.post(slug("agent"), run("x", status="failed"))
    html = tenant.client.get("/analytics/executions/?status=failed", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in html and "x" in html


def test_bad_filters_are_explained(tenant):
    response = tenant.client.get("/analytics/executions/?status=exploded&start=2025-02-30")
    assert response.status_code == 200
    assert "Those filters are not valid." in response.content.decode()


def test_expired_executions_are_not_shown(tenant):
    agent = slug("agent")
    tenant.post(agent, run("fresh"))
    # DynamoDB deletes expired items late (DynamoDB Local never): one is still stored past its TTL.
    started = clock.now() - timedelta(days=EXECUTION_TTL_DAYS, hours=1)
    Execution(
        agent_key=scoped_key(tenant.tenant_id, agent),
        sk=f"{iso_ms(started)}#stale",
        agent_id=agent,
        execution_id="stale",
        tenant_execution=scoped_key(tenant.tenant_id, "stale"),
        tenant_id=tenant.tenant_id,
        tenant_status=f"{tenant.tenant_id}#succeeded",
        user_id="user-1",
        tenant_user=scoped_key(tenant.tenant_id, "user-1"),
        model="gpt-4o",
        status="succeeded",
        started_at=iso_ms(started),
        duration_ms=10,
        expires_at=started + timedelta(days=EXECUTION_TTL_DAYS),
    ).save()
    assert _ids(tenant.client.get("/analytics/executions/")) == ["fresh"]
    assert _ids(tenant.client.get(f"/analytics/executions/?agent={agent}")) == ["fresh"]
    assert _ids(tenant.client.get("/analytics/executions/?status=succeeded")) == ["fresh"]
    assert tenant.client.get("/analytics/executions/stale/").status_code == 404
    assert tenant.get(f"/api/agents/{agent}/runs")[1]["runs"][0]["execution_id"] == "fresh"


def test_the_detail_page_shows_input_output_tokens_cost_timings_and_error(tenant):
    tenant.post(
        slug("agent"),
        run(
            "boom",
            status="failed",
            input="Summarise this",
            output="partial",
            error="Tool call failed: 500",
            model="gpt-4o",
            tokens_in=1000,
            tokens_out=500,
            duration_ms=4321,
        ),
    )
    response = tenant.client.get("/analytics/executions/boom/")
    html = response.content.decode()
    assert response.status_code == 200
    for text in (
        "Summarise this",
        "partial",
        "Tool call failed: 500",
        "$0.0075",
        "7,500 µUSD",
        "4.32 s",
        "1,000",
    ):
        assert text in html


def test_another_tenants_execution_and_agent_are_not_found(tenant_factory):
    mine, theirs = tenant_factory(), tenant_factory()
    agent = slug("agent")
    theirs.post(agent, run("their-run"))
    assert mine.client.get("/analytics/executions/their-run/").status_code == 404
    # The same agent name in my tenant is my own agent: it has no executions, and theirs never show.
    response = mine.client.get(f"/analytics/executions/?agent={agent}")
    assert response.status_code == 200 and _ids(response) == []
    assert mine.client.get(f"/analytics/executions/?tenant={theirs.tenant_id}").status_code == 404
    assert _ids(mine.client.get("/analytics/executions/?user=user-1")) == []


def test_the_same_execution_id_in_two_tenants_stays_apart(tenant_factory):
    one, two = tenant_factory(), tenant_factory()
    one.post(slug("agent"), run("shared-id", output="one's output"))
    two.post(slug("agent"), run("shared-id", output="two's output"))
    assert "one&#x27;s output" in one.client.get("/analytics/executions/shared-id/").content.decode()
    assert "two&#x27;s output" in two.client.get("/analytics/executions/shared-id/").content.decode()


def test_staff_without_a_tenant_are_asked_to_choose_one(people):
    html = client_for(people["staff"]).get("/analytics/executions/").content.decode()
    assert "choose one in the switcher" in html


def test_staff_open_any_tenants_history(people, tenant):
    tenant.post(slug("agent"), run("seen-by-staff"))
    staff = client_for(people["staff"])
    assert _ids(staff.get(f"/analytics/executions/?tenant={tenant.tenant_id}")) == ["seen-by-staff"]
    assert staff.get(f"/analytics/executions/seen-by-staff/?tenant={tenant.tenant_id}").status_code == 200


def test_moderators_get_403(moderator):
    assert moderator.get("/analytics/executions/").status_code == 403


def test_odd_ids_in_urls_are_not_found_never_a_crash(tenant, people):
    long = "x" * 3000
    assert tenant.client.get(f"/analytics/executions/{long}/").status_code == 404
    # An over-long query value is refused at the edge with a clear 400; an id in the path is a 404.
    assert tenant.client.get(f"/analytics/executions/?tenant={long}").status_code in (400, 404)
    assert client_for(people["staff"]).get(f"/analytics/?tenant={long}").status_code in (400, 404)
    assert tenant.client.get("/analytics/executions/?cursor=forged").status_code == 400
    assert tenant.get(f"/api/agents/{long}/runs")[0] == 404
