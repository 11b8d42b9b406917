"""Top sessions and top templates on the cost overview, the API and its CSV (issue #28 §2): each equal to a
sum over the raw executions, with the previous period, whether runs came through the API (each batch
sent twice) or the importer (the same file twice), read from the buckets or from the digests; a template's
name only where the tenant may see the template."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import date, timedelta

from django.test import override_settings

from dashboard.analytics import compaction, rollups
from dashboard.analytics import services as analytics
from dashboard.analytics.inputs import Period
from dashboard.core import clock
from tests.analytics.conftest import raw_executions, recomputed_rollups, run, slug, stored_rollups
from tests.marketplace.conftest import make_flow
from tests.marketplace.conftest import make_template as _make_template
from tests.marketplace.conftest import scopes as _scopes

# The marketplace's fixtures: templates made through its services, as a person would.
make_template = _make_template
scopes = _scopes


def _top(executions, attribute: str, start, end) -> list[tuple[str, int, int]]:
    """(value, cost, runs) best first, ties by name, of the executions carrying a value, raw."""
    sums: dict[str, list[int]] = {}
    for execution in executions:
        value = getattr(execution, attribute)
        if value and start.isoformat() <= execution.started_at[:10] <= end.isoformat():
            entry = sums.setdefault(value, [0, 0])
            entry[0] += int(execution.cost_micro_usd)
            entry[1] += 1
    ordered = sorted(sums.items(), key=lambda item: (-item[1][0], item[0]))[:10]
    return [(value, cost, runs) for value, (cost, runs) in ordered]


def _listed(rows: list[dict]) -> list[tuple[str, int, int]]:
    return [(row["value"], row["cost_micro_usd"], row["executions"]) for row in rows]


def _world(tenant, make_template):
    """Runs of three sessions, two of them partly from flows made from templates: one listed in the
    marketplace, one private to another tenant; some in the previous 30 days."""
    listed = make_template("acme", state="approved")
    private = make_template("globex", state="draft")
    flow_listed = make_flow(tenant.tenant_id, listed.template_id)
    flow_private = make_flow(tenant.tenant_id, private.template_id)
    agent = slug("agent")
    now_runs = [
        run("s1-a", session_id="conv-1", flow_id=flow_listed, tokens_in=9000),
        run("s1-b", session_id="conv-1", flow_id=flow_listed, user_id="user-2", ago=timedelta(hours=2)),
        run("s2-a", session_id="conv-2", flow_id=flow_private, tokens_in=3000, status="failed"),
        run("s2-b", session_id="conv-2", tokens_in=500, ago=timedelta(days=3)),
        run("plain", tokens_in=20_000),  # no session, no template: in neither list
    ]
    before = [
        run("old-1", session_id="conv-1", flow_id=flow_listed, ago=timedelta(days=35)),
        run("old-2", session_id="conv-old", ago=timedelta(days=40), tokens_in=50_000),
    ]
    for body in (now_runs, before):
        for _ in range(2):  # a client retrying each batch: counted once
            status, answer = tenant.post(agent, {"runs": body})
            assert status in (200, 201), answer
    # More of conv-3 through the importer, the same file imported twice.
    now = clock.now()
    lines = [
        json.dumps({"agent_id": "importer", **run(f"imp-{n}", session_id="conv-3", flow_id=flow_listed)})
        for n in range(3)
    ]
    for _ in range(2):
        analytics.import_stream(
            [analytics.parse_import_line(tenant.tenant_id, line, now)[0] for line in lines]
        )
    return listed, private


@override_settings(DYNAMODB_CALL_HEADERS=True)
def test_top_sessions_and_templates_are_sums_over_the_raw_executions_whichever_way_they_are_read(
    tenant, make_template
):
    listed, private = _world(tenant, make_template)
    stored = raw_executions(tenant.tenant_id)
    assert len(stored) == 10
    assert stored_rollups(tenant.tenant_id) == recomputed_rollups(tenant.tenant_id)
    period = Period.last(30, clock.now().date())
    prev = period.previous

    def check(body):
        assert _listed(body["top_sessions"]) == _top(stored, "session_id", period.start, period.end)
        assert _listed(body["top_templates"]) == _top(stored, "template_id", period.start, period.end)
        assert [row["value"] for row in body["top_sessions"]][-1] == "conv-2"
        before = {
            value: (cost, runs) for value, cost, runs in _top(stored, "session_id", prev.start, prev.end)
        }
        for row in body["top_sessions"]:
            cost, runs = before.get(row["value"], (0, 0))
            assert (row["previous"]["cost_micro_usd"], row["previous"]["executions"]) == (cost, runs)
        by_template = {row["value"]: row for row in body["top_templates"]}
        assert by_template[listed.template_id]["previous"]["executions"] == 1
        assert by_template[listed.template_id]["name"] == listed.name
        assert "name" not in by_template[private.template_id]  # another tenant's draft: never named

    status, body = tenant.get("/api/analytics/execution", period="30")
    assert status == 200, body
    check(body)
    # The same read from the settled days packed by the background worker.
    compaction.rebuild(tenant.tenant_id, clock.now().date())
    status, body = tenant.get("/api/analytics/execution", period="30")
    check(body)

    html = tenant.client.get("/analytics/?period=30").content.decode()
    assert 'data-ranked="session"' in html and 'data-ranked="template"' in html
    assert 'href="/analytics/sessions/conv-1/"' in html
    assert f'href="/templates/{listed.template_id}/"' in html and listed.name in html
    assert f'href="/templates/{private.template_id}/"' not in html and private.name not in html

    exported = tenant.client.get("/analytics/export.csv", {"period": "30"}).content.decode()
    lines = list(csv.reader(io.StringIO(exported)))
    sessions = [line[1] for line in lines if line[0] == "top_session"]
    templates = [line[1] for line in lines if line[0] == "top_template"]
    assert sessions == [value for value, _, _ in _top(stored, "session_id", period.start, period.end)]
    assert templates == [value for value, _, _ in _top(stored, "template_id", period.start, period.end)]


def test_a_run_adds_two_rows_for_its_session_and_two_for_its_template(tenant, make_template):
    """Day and ISO week only (rollups.GRAINS): a month row would repeat nearly every session of its days."""
    template = make_template("acme", state="approved")
    flow = make_flow(tenant.tenant_id, template.template_id)
    status, answer = tenant.post(slug("agent"), run("one", session_id="conv-9", flow_id=flow))
    assert status == 201, answer
    [execution] = raw_executions(tenant.tenant_id)
    day = date.fromisoformat(rollups.day_of(execution.started_at))
    rows = {(pk.split("#", 1)[1], sk) for pk, sk in stored_rollups(tenant.tenant_id)}
    for dimension, value in (("session", "conv-9"), ("template", template.template_id)):
        mine = {key for key in rows if key[0].startswith(f"{dimension}#")}
        assert mine == {
            (f"{dimension}#{rollups.day_bucket(day)}", value),
            (f"{dimension}#{rollups.week_bucket(day)}", value),
        }


def _import_sessions(tenant, sessions: int, days: int, seed: int) -> None:
    """`sessions` conversations of one to three runs each, spread over the last `days` days (today
    included), costs near-equal: the flat shape, where no leader stands out."""
    rng = random.Random(seed)
    now = clock.now()
    # Within the last hour of each day, but not before today's midnight: today's sessions stay today.
    since_midnight = int((now - now.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds())
    window = max(1, min(3_600, since_midnight - 120))
    lines = []
    for number in range(sessions):
        ago = timedelta(days=number % days, seconds=rng.randrange(window))
        for turn in range(1 + number % 3):
            body = run(
                f"c{seed}-{number}-{turn}",
                ago=ago - timedelta(minutes=turn),
                session_id=f"conv-{seed}-{number}",
                tokens_in=1000 + rng.randrange(50),
                user_id=f"user-{number % 40}",
            )
            lines.append(json.dumps({"agent_id": f"agent-{number % 7}", **body}))
    parsed = [analytics.parse_import_line(tenant.tenant_id, line, now)[0] for line in lines]
    analytics.import_stream(parsed)


def _overview_calls(tenant) -> int:
    tenant.client.get("/analytics/?period=30")  # keeps the first pages it read live
    page = tenant.client.get("/analytics/?period=30")
    assert page.status_code == 200
    return int(page["X-DynamoDB-Calls"])


@override_settings(DYNAMODB_CALL_HEADERS=True)
def test_thousands_of_sessions_cost_the_overview_no_more_calls_than_a_few(tenant_factory, monkeypatch):
    """Calls against volume: 20 sessions and 2,000 (digests keeping 50 rows, so most sessions are in their
    tails) read the same bounded number of times, and the top sessions stay exact."""
    monkeypatch.setattr(compaction, "DIGEST_ROWS", 50)
    today = clock.now().date()
    calls = {}
    for sessions in (20, 2_000):
        kit = tenant_factory()
        _import_sessions(kit, sessions, days=10, seed=sessions)
        compaction.rebuild(kit.tenant_id, today)
        calls[sessions] = _overview_calls(kit)
        period = Period.last(30, today)
        status, body = kit.get("/api/analytics/execution", period="30")
        stored = raw_executions(kit.tenant_id)
        assert _listed(body["top_sessions"]) == _top(stored, "session_id", period.start, period.end)
    assert calls[2_000] <= calls[20] + 2, calls  # a tail read or two, at most
    assert calls[2_000] <= 21, calls
