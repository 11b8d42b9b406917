"""The cost overview filtered by environment or tag (issue #28 §2): the figures are sums over the raw
executions, whatever path recorded them (the API, a batch sent twice, the importer), and a bad filter
is named, never a 500."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.test import override_settings

from dashboard.accounts.queries import get_tenant
from dashboard.analytics import compaction, rollups
from dashboard.analytics.inputs import Period
from dashboard.analytics.models import RollupDigest
from dashboard.audit.models import AuditEvent
from dashboard.core import clock
from tests.analytics.conftest import (
    raw_executions,
    recomputed_rollups,
    recomputed_top,
    run,
    slug,
    stored_rollups,
)


def _period() -> Period:
    return Period.last(30, clock.now().date())


def _inside(execution, start: date, end: date) -> bool:
    return start.isoformat() <= execution.started_at[:10] <= end.isoformat()


def _sums(executions) -> dict:
    return {
        "executions": len(executions),
        "failures": sum(1 for e in executions if e.status != "succeeded"),
        "cost_micro_usd": sum(int(e.cost_micro_usd) for e in executions),
        "tokens_in": sum(int(e.tokens_in) for e in executions),
    }


def _figures(body: dict) -> dict:
    return {name: body[name] for name in ("executions", "failures", "cost_micro_usd", "tokens_in")}


def _seed(tenant, tmp_path) -> None:
    """Production, staging and no environment, this period and the previous one, through the API (a
    batch sent twice) and the importer."""
    agents = [slug("agent"), slug("agent")]
    batch = {
        "runs": [
            run("p-1", environment="production", tags=["checkout"], tokens_in=4000, model="gpt-4o"),
            run(
                "p-2",
                environment="production",
                tags=["checkout", "gold"],
                status="failed",
                ago=timedelta(days=3),
            ),
            run("s-1", environment="staging", tags=["checkout"], tokens_in=9000, ago=timedelta(days=2)),
            run("n-1", tags=["gold"], ago=timedelta(days=5)),
            run("p-old", environment="production", tags=["checkout"], ago=timedelta(days=40)),
            run("s-old", environment="staging", ago=timedelta(days=41)),
        ]
    }
    assert tenant.post(agents[0], batch)[0] == 201
    assert tenant.post(agents[0], batch)[0] == 200  # the same batch again: nothing new, counted once
    lines = [
        {
            "agent_id": agents[1],
            **run("i-1", environment="production", user_id="user-2", ago=timedelta(days=9)),
        },
        {
            "agent_id": agents[1],
            **run("i-2", environment="production", tags=["gold"], ago=timedelta(days=35)),
        },
    ]
    path = tmp_path / "runs.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    call_command("import_executions", str(path), tenant=tenant.tenant_id, quiet=True)


def test_an_environments_overview_is_the_sum_of_its_raw_executions(tenant, tmp_path):
    _seed(tenant, tmp_path)
    executions = raw_executions(tenant.tenant_id)
    assert len(executions) == 8
    # Every row, the sub-scope's included, is what the raw executions make.
    assert stored_rollups(tenant.tenant_id) == recomputed_rollups(tenant.tenant_id)
    period = _period()
    mine = [e for e in executions if e.environment == "production"]
    now = [e for e in mine if _inside(e, period.start, period.end)]
    before = [e for e in mine if _inside(e, period.previous.start, period.previous.end)]
    for packed in (False, True):
        if packed:  # as read most of the time: the settled days packed, the sub-scope with its tenant
            compaction.rebuild(tenant.tenant_id, clock.now().date())
            scoped = rollups.scope_id(tenant.tenant_id, "production")
            assert RollupDigest.count(
                f"{scoped}#agent#{rollups.range_bucket(period.start, period.end - timedelta(days=1))}"
            )
        status, body = tenant.get("/api/analytics/execution", period="30", environment="production")
        assert status == 200, body
        assert body["filter"] == {"environment": "production", "tag": None, "metadata": {}}
        assert _figures(body["current"]) == _sums(now)
        assert _figures(body["previous"]) == _sums(before)
        by_model: dict[str, list[int]] = defaultdict(lambda: [0] * period.days)
        for e in now:
            by_model[e.model][(date.fromisoformat(e.started_at[:10]) - period.start).days] += int(
                e.cost_micro_usd
            )
        assert body["daily"]["cost_micro_usd_by_model"] == dict(by_model)
        assert [
            (r["value"], r["cost_micro_usd"], r["executions"]) for r in body["top_agents"]
        ] == recomputed_top(now, "agent", period.start, period.end)
        assert [(r["value"], r["executions"]) for r in body["top_users"]] == [
            (v, n) for v, _, n in recomputed_top(now, "user", period.start, period.end)
        ]
        assert {r["value"]: r["executions"] for r in body["statuses"]} == {"failed": 1}
        assert body["top_environments"] == [] and body["top_tags"] == [] and body["budget"] is None
        assert set(body["not_split"]) == {
            "top environments",
            "top tags",
            "top sessions",
            "top templates",
            "budget",
        }


def test_a_tags_overview_is_the_sum_of_the_executions_carrying_it(tenant, tmp_path):
    _seed(tenant, tmp_path)
    executions = raw_executions(tenant.tenant_id)
    period = _period()
    mine = [e for e in executions if "gold" in (e.tags or [])]
    now = [e for e in mine if _inside(e, period.start, period.end)]
    before = [e for e in mine if _inside(e, period.previous.start, period.previous.end)]
    status, body = tenant.get("/api/analytics/execution", period="30", tag="gold")
    assert status == 200, body
    assert _figures(body["current"]) == _sums(now) and _sums(now)["executions"] == 2
    assert _figures(body["previous"]) == _sums(before) and _sums(before)["executions"] == 1
    daily = [0] * period.days
    for e in now:
        daily[(date.fromisoformat(e.started_at[:10]) - period.start).days] += int(e.cost_micro_usd)
    assert body["daily"]["cost_micro_usd_by_tag"] == {"gold": daily}
    assert sum(body["daily"]["executions"]) == len(now)
    # Nothing unfiltered under a filter: what the tag's rows do not split is empty and named.
    for name in ("top_agents", "top_models", "top_users", "top_environments", "top_tags", "statuses"):
        assert body[name] == []
    assert "top agents" in body["not_split"] and "latency percentiles" in body["not_split"]
    page = tenant.client.get("/analytics/", {"period": "30", "tag": "gold"}).content.decode()
    assert 'data-testid="filter-notice"' in page and "not shown: top agents" in page
    assert 'data-ranked="agent"' not in page and "budget-card" not in page


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"environment": "prod#1"}, "environment"),
        ({"environment": "x" * 41}, "environment"),
        ({"tag": "a#b"}, "tag"),
        ({"environment": "production", "tag": "gold"}, "tag"),
        ({"metadata.plan": "gold"}, "metadata.plan"),  # no metadata key is counted yet: refused, named
    ],
)
def test_a_bad_filter_is_named_never_a_server_error(tenant, params, field):
    status, body = tenant.get("/api/analytics/execution", **params)
    assert status == 422 and field in body["error"]["fields"], body
    exported = tenant.client.get("/analytics/export.csv", params)
    assert exported.status_code == 422
    page = tenant.client.get("/analytics/", params)
    assert page.status_code == 200 and 'data-testid="filter-error"' in page.content.decode()


def test_the_csv_names_its_filter_and_carries_the_filtered_figures(tenant, tmp_path):
    _seed(tenant, tmp_path)
    period = _period()
    now = [
        e
        for e in raw_executions(tenant.tenant_id)
        if e.environment == "production" and _inside(e, period.start, period.end)
    ]
    response = tenant.client.get("/analytics/export.csv", {"period": "30", "environment": "production"})
    assert response.status_code == 200
    assert "production" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    header = rows[0]
    assert rows[1][:3] == ["filter", "environment", "production"]
    assert [row[1] for row in rows if row[0] == "not_split"] == [
        "top environments",
        "top tags",
        "top sessions",
        "top templates",
        "budget",
    ]
    [line] = [dict(zip(header, row, strict=True)) for row in rows if row[0] == "period"]
    assert int(line["cost_micro_usd"]) == _sums(now)["cost_micro_usd"]
    assert int(line["executions"]) == len(now)


def test_another_tenant_filtering_by_the_same_environment_sees_only_its_own(tenant_factory, tmp_path):
    first, second = tenant_factory("First"), tenant_factory("Second")
    _seed(first, tmp_path)
    assert second.post(slug("agent"), {"runs": [run("mine", environment="production")]})[0] == 201
    status, body = second.get("/api/analytics/execution", period="30", environment="production")
    assert status == 200 and body["current"]["executions"] == 1
    assert [row["executions"] for row in body["top_agents"]] == [1]
    # The sub-scope's id is built from the caller's own tenant: naming another tenant is refused.
    scoped = rollups.scope_id(first.tenant_id, "production")
    page = second.client.get(
        "/analytics/", {"period": "30", "tenant": first.tenant_id, "environment": "production"}
    )
    assert page.status_code in (403, 404)
    assert second.client.get("/analytics/", {"tenant": scoped}).status_code in (403, 404)


@override_settings(DYNAMODB_CALL_HEADERS=True)
def test_the_filtered_overview_reads_within_the_unfiltered_pages_bound(tenant, tmp_path):
    _seed(tenant, tmp_path)
    compaction.rebuild(tenant.tenant_id, clock.now().date())
    calls = {}
    for name, params in (
        ("all", {}),
        ("environment", {"environment": "production"}),
        ("tag", {"tag": "gold"}),
    ):
        tenant.client.get("/analytics/", {"period": "30", **params})  # keeps the first pages it read live
        page = tenant.client.get("/analytics/", {"period": "30", **params})
        assert page.status_code == 200
        calls[name] = int(page["X-DynamoDB-Calls"])
    # The environment's page: the unfiltered reads on its sub-scope, less the environment and tag
    # lists and the budget, plus the filter's choices (the tenant's environments).
    assert calls["environment"] <= calls["all"] <= 15, calls
    assert calls["tag"] < calls["all"], calls


def _by_metadata(executions, key: str, start: date, end: date) -> list[tuple[str, int, int]]:
    """Top values of one metadata key straight from raw executions: (value, cost, runs)."""
    sums: dict[str, list[int]] = {}
    for e in executions:
        value = (e.metadata.as_dict() if e.metadata else {}).get(key)
        if value and _inside(e, start, end):
            entry = sums.setdefault(value, [0, 0])
            entry[0] += int(e.cost_micro_usd)
            entry[1] += 1
    return [(v, c, n) for v, (c, n) in sorted(sums.items(), key=lambda item: (-item[1][0], item[0]))]


def test_counted_metadata_keys_rank_and_filter_the_overview(tenant, tmp_path):
    response = tenant.client.post("/analytics/dimensions/", {"metadata_dimensions": "plan, customer"})
    assert response.status_code == 302
    assert get_tenant(tenant.tenant_id).metadata_dimensions == ["plan", "customer"]
    [event] = [e for e in AuditEvent.query(tenant.tenant_id) if e.action == "tenant.metadata_dimensions"]
    assert event.changes == {"metadata_dimensions": [[], ["plan", "customer"]]}
    agent = slug("agent")
    batch = {
        "runs": [
            run("m-1", metadata={"plan": "gold", "customer": "c1"}, tokens_in=5000),
            run("m-2", metadata={"plan": "gold"}, environment="production", ago=timedelta(days=2)),
            run("m-3", metadata={"plan": "silver", "other": "x"}, tokens_in=9000, ago=timedelta(days=3)),
            run("m-4", metadata={"other": "y"}, ago=timedelta(days=4)),
            run("m-old", metadata={"plan": "gold"}, ago=timedelta(days=40)),
        ]
    }
    assert tenant.post(agent, batch)[0] == 201
    assert tenant.post(agent, batch)[0] == 200  # the same batch again: counted once
    line = {"agent_id": agent, **run("m-imp", metadata={"plan": "silver"}, ago=timedelta(days=6))}
    path = tmp_path / "runs.jsonl"
    path.write_text(json.dumps(line) + "\n")
    call_command("import_executions", str(path), tenant=tenant.tenant_id, quiet=True)
    assert stored_rollups(tenant.tenant_id) == recomputed_rollups(tenant.tenant_id)
    executions = raw_executions(tenant.tenant_id)
    period = _period()
    for packed in (False, True):
        if packed:
            compaction.rebuild(tenant.tenant_id, clock.now().date())
        status, body = tenant.get("/api/analytics/execution", period="30")
        assert status == 200, body
        assert body["metadata_keys"] == ["plan", "customer"]
        tops = {entry["key"]: entry["top_values"] for entry in body["top_metadata"]}
        for key in ("plan", "customer"):
            assert [(r["value"], r["cost_micro_usd"], r["executions"]) for r in tops[key]] == _by_metadata(
                executions, key, period.start, period.end
            )
        assert {r["value"]: r["previous"]["executions"] for r in tops["plan"]} == {"gold": 1, "silver": 0}

    gold = [e for e in executions if (e.metadata.as_dict() if e.metadata else {}).get("plan") == "gold"]
    status, body = tenant.get("/api/analytics/execution", **{"period": "30", "metadata.plan": "gold"})
    assert status == 200, body
    assert body["filter"]["metadata"] == {"plan": "gold"}
    assert _figures(body["current"]) == _sums([e for e in gold if _inside(e, period.start, period.end)])
    assert _figures(body["previous"]) == _sums(
        [e for e in gold if _inside(e, period.previous.start, period.previous.end)]
    )
    assert body["top_agents"] == [] and "top agents" in body["not_split"]
    status, body = tenant.get("/api/analytics/execution", **{"metadata.other": "x"})
    assert status == 422 and "counted: plan, customer" in body["error"]["fields"]["metadata.other"]

    page = tenant.client.get("/analytics/", {"period": "30"}).content.decode()
    assert "Top plan" in page and "metadata.plan=gold" in page
    page = tenant.client.get("/analytics/", {"period": "30", "metadata.plan": "gold"}).content.decode()
    assert "Metadata <strong>plan = gold</strong>" in page


@pytest.mark.parametrize(
    ("keys", "message"),
    [("a, b, c, d, e, f", "at most 5"), ("bad key!", "letters, digits")],
)
def test_metadata_keys_beyond_the_rules_are_refused_and_nothing_changes(tenant, keys, message):
    response = tenant.client.post("/analytics/dimensions/", {"metadata_dimensions": keys})
    assert response.status_code == 422 and message in response.content.decode()
    assert get_tenant(tenant.tenant_id).metadata_dimensions is None
