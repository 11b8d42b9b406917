"""Environment, session, tags, metadata and flow on every execution (issue #28, part 1), and the
history's filters by environment, tag and session (part 2)."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from django.core.management import call_command
from django.test import override_settings

from dashboard.analytics import compaction, services
from dashboard.core import clock
from tests.analytics.conftest import raw_executions, recomputed_rollups, run, slug, stored_rollups

DIMENSIONS = {
    "environment": "production",
    "session_id": "conv-77",
    "tags": ["checkout", "tier=gold"],
    "metadata": {"customer": "acme-corp", "feature": "refunds"},
    "flow_id": "flow-123",
}


def test_a_run_keeps_its_dimensions_and_the_api_page_and_csv_show_them(tenant):
    agent = slug("agent")
    status, body = tenant.post(agent, run("dim-1", **DIMENSIONS))
    assert status == 201, body
    [execution] = raw_executions(tenant.tenant_id)
    assert (execution.environment, execution.session_id, execution.flow_id) == (
        "production",
        "conv-77",
        "flow-123",
    )
    assert execution.tags == ["checkout", "tier=gold"]
    assert execution.metadata.as_dict() == DIMENSIONS["metadata"]
    # The rollups are those of the execution, its environment and each tag ranked too.
    assert stored_rollups(tenant.tenant_id) == recomputed_rollups(tenant.tenant_id)
    # 3 daily rows + the agent, model, user, environment and both tags in 3 buckets each + the session
    # in its day and week + the hour's total, model, agent, user, environment and both tags + the
    # production sub-scope's 3 daily rows and its agent, model and user in 3 buckets each
    # (rollups.scope_id).
    assert len(stored_rollups(tenant.tenant_id)) == 3 + 3 * 6 + 2 + 7 + 3 + 3 * 3

    status, listed = tenant.get(f"/api/agents/{agent}/runs")
    assert status == 200
    assert {name: listed["runs"][0][name] for name in DIMENSIONS} == DIMENSIONS

    page = tenant.client.get("/analytics/executions/dim-1/").content.decode()
    for text in ("production", "conv-77", "checkout", "tier=gold", "acme-corp", "flow-123"):
        assert text in page

    exported = tenant.client.get("/analytics/executions/export.csv").content.decode()
    [header, row] = list(csv.reader(io.StringIO(exported)))[:2]
    line = dict(zip(header, row, strict=True))
    assert (line["environment"], line["session_id"], line["tags"], line["flow_id"]) == (
        "production",
        "conv-77",
        "checkout|tier=gold",
        "flow-123",
    )
    assert json.loads(line["metadata"]) == DIMENSIONS["metadata"]


def test_a_run_without_dimensions_reads_as_none(tenant):
    agent = slug("agent")
    assert tenant.post(agent, run("plain-1"))[0] == 201
    status, listed = tenant.get(f"/api/agents/{agent}/runs")
    got = listed["runs"][0]
    assert (got["environment"], got["session_id"], got["tags"], got["metadata"], got["flow_id"]) == (
        None,
        None,
        [],
        {},
        None,
    )


def test_dimensions_over_the_limits_are_named_and_nothing_is_written(tenant):
    agent = slug("agent")
    runs = [
        run("ok-1", **DIMENSIONS),
        run("bad-env", environment="prod#1"),
        run("bad-env-long", environment="e" * 41),
        run("too-many-tags", tags=[f"t{n}" for n in range(11)]),
        run("long-tag", tags=["x" * 41]),
        run("too-many-keys", metadata={f"k{n}": "v" for n in range(11)}),
        run("long-value", metadata={"note": "v" * 201}),
        run("bad-session", session_id="s" * 129),
        run("bad-flow", flow_id="flow#1"),
        run("not-strings", metadata={"n": 5}),
    ]
    status, body = tenant.post(agent, {"runs": runs})
    assert status == 422, body
    fields = body["error"]["fields"]
    for index, name in (
        (1, "environment"),
        (2, "environment"),
        (3, "tags"),
        (5, "metadata"),
        (7, "session_id"),
        (8, "flow_id"),
    ):
        assert f"runs[{index}].{name}" in fields, fields
    assert any(name.startswith("runs[4].tags") for name in fields), fields
    assert any(name.startswith("runs[6].metadata") for name in fields), fields
    assert any(name.startswith("runs[9].metadata") for name in fields), fields
    assert not any(name.startswith("runs[0]") for name in fields)
    assert "9 of 10" in body["error"]["message"]
    assert raw_executions(tenant.tenant_id) == []
    assert stored_rollups(tenant.tenant_id) == {}


def test_the_importer_takes_the_same_dimensions_and_the_same_rules(tenant, tmp_path, capsys):
    now = clock.now()
    good = json.dumps({"agent_id": "importer", **run("imp-dim", **DIMENSIONS)})
    execution, errors = services.parse_import_line(tenant.tenant_id, good, now)
    assert errors == {} and execution.tags == DIMENSIONS["tags"]
    bad = json.dumps({"agent_id": "importer", **run("imp-bad", tags=["a"] * 11)})
    assert "tags" in services.parse_import_line(tenant.tenant_id, bad, now)[1]
    path = tmp_path / "runs.jsonl"
    path.write_text(good + "\n")
    call_command("import_executions", str(path), tenant=tenant.tenant_id, quiet=True)
    [stored] = raw_executions(tenant.tenant_id)
    assert (stored.environment, stored.session_id, stored.flow_id) == ("production", "conv-77", "flow-123")
    assert stored.metadata.as_dict() == DIMENSIONS["metadata"]


def _ids(response) -> set[str]:
    return {item["execution_id"] for item in response[1]["runs"]}


def test_the_history_filters_by_environment_tag_and_session(tenant):
    agent = slug("agent")
    runs = [
        run("prod-a", environment="production", tags=["checkout"], session_id="s-1"),
        run("prod-b", environment="production", tags=["search", "checkout"], session_id="s-2"),
        run("stage-a", environment="staging", tags=["search"], session_id="s-1"),
        run("none-a"),
    ]
    assert tenant.post(agent, {"runs": runs})[0] == 201
    url = f"/api/agents/{agent}/runs"
    assert _ids(tenant.get(url, environment="production")) == {"prod-a", "prod-b"}
    assert _ids(tenant.get(url, tag="checkout")) == {"prod-a", "prod-b"}
    assert _ids(tenant.get(url, tag="search", environment="staging")) == {"stage-a"}
    assert _ids(tenant.get(url, session_id="s-1")) == {"prod-a", "stage-a"}
    assert _ids(tenant.get(url, session_id="s-1", status="succeeded")) == {"prod-a", "stage-a"}
    assert _ids(tenant.get(url, environment="dev")) == set()
    status, body = tenant.get(url, environment="prod#1")
    assert status == 422 and "environment" in body["error"]["fields"]

    # The page and its CSV: only the matching rows, and totals counted from them.
    page = tenant.client.get("/analytics/executions/", {"environment": "production"}).content.decode()
    assert "prod-a" in page and "prod-b" in page and "stage-a" not in page and "none-a" not in page
    page = tenant.client.get("/analytics/executions/", {"tag": "search"}).content.decode()
    assert "prod-b" in page and "stage-a" in page and "prod-a" not in page
    exported = tenant.client.get("/analytics/executions/export.csv", {"session_id": "s-1"}).content.decode()
    assert {row[1] for row in list(csv.reader(io.StringIO(exported)))[1:]} == {"prod-a", "stage-a"}
    bad = tenant.client.get("/analytics/executions/", {"tag": "a#b"})
    assert bad.status_code in (200, 422) and "stage-a" not in bad.content.decode()


@override_settings(DYNAMODB_CALL_HEADERS=True)
def test_the_overview_ranks_environments_and_tags_with_the_previous_period_within_15_calls(tenant):
    agent = slug("agent")
    now_runs = [
        run("now-1", environment="production", tags=["checkout", "gold"], tokens_in=4000),
        run("now-2", environment="production", tags=["checkout"], tokens_in=2000),
        run("now-3", environment="staging", tags=["search"], tokens_in=1000),
        run("now-4"),
    ]
    before = [run("before-1", ago=timedelta(days=40), environment="production", tags=["checkout"])]
    assert tenant.post(agent, {"runs": now_runs})[0] == 201
    assert tenant.post(agent, {"runs": before})[0] == 201
    assert stored_rollups(tenant.tenant_id) == recomputed_rollups(tenant.tenant_id)

    status, body = tenant.get("/api/analytics/execution", period="30")
    assert status == 200, body
    environments = {row["value"]: row for row in body["top_environments"]}
    assert [row["value"] for row in body["top_environments"]] == ["production", "staging"]
    assert environments["production"]["executions"] == 2
    assert environments["production"]["previous"]["executions"] == 1
    assert environments["staging"]["previous"]["executions"] == 0
    tags = {row["value"]: row for row in body["top_tags"]}
    assert [row["value"] for row in body["top_tags"]][0] == "checkout"
    assert (tags["checkout"]["executions"], tags["gold"]["executions"], tags["search"]["executions"]) == (
        2,
        1,
        1,
    )
    assert tags["checkout"]["previous"]["executions"] == 1
    assert tags["checkout"]["cost_micro_usd"] == sum(
        environments[name]["cost_micro_usd"] for name in ("production",)
    )

    # The overview as it is read most of the time: the settled days packed by the background worker.
    compaction.rebuild(tenant.tenant_id, clock.now().date())
    tenant.client.get("/analytics/?period=30")  # keeps the first pages it read live
    page = tenant.client.get("/analytics/?period=30")
    html = page.content.decode()
    assert 'data-ranked="environment"' in html and 'data-ranked="tag"' in html
    assert "?environment=production" in html and "?tag=checkout" in html
    assert int(page["X-DynamoDB-Calls"]) <= 15, page["X-DynamoDB-Calls"]


def test_a_session_of_a_busy_agent_is_found_at_once_however_far_back(tenant):
    """The session filter reads the session's own index: an old conversation of an agent with hundreds
    of later runs is on the first page, whole, not behind pages of other runs."""
    agent = slug("busy")
    old = [run(f"old-{n}", ago=timedelta(days=3, minutes=n), session_id="long-ago") for n in range(3)]
    assert tenant.post(agent, {"runs": old})[0] == 201
    later = [run(f"later-{n:03d}", ago=timedelta(minutes=n)) for n in range(450)]
    for start in range(0, len(later), 25):
        assert tenant.post(agent, {"runs": later[start : start + 25]})[0] == 201
    status, body = tenant.get(f"/api/agents/{agent}/runs", session_id="long-ago")
    assert status == 200
    assert [item["execution_id"] for item in body["runs"]] == ["old-0", "old-1", "old-2"]
    assert body["next_cursor"] is None
    # Another agent's filter on the same session finds none of them (the agent is still a filter).
    assert _ids(tenant.get(f"/api/agents/{slug('other')}/runs", session_id="long-ago")) == set()
