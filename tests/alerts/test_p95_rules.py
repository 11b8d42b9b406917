"""p95 latency alert rules per agent, model, user, environment and tag (issue #29): the latency
histogram kept on the rollup rows each execution already updates (daily model rows, every hourly row,
the day buckets of agents, users, environments and tags), read back equal to a recomputation from the
raw executions' durations at the same resolution, and a rule on one agent firing once and resolving.

Resolution (dashboard.analytics.latency): 49 buckets, bounds growing by 25 % from 10 ms to about
6 minutes; a p95 is exact to within its bucket (at most 25 % of the value).
"""

from __future__ import annotations

import json
import math
import random
from datetime import timedelta

import pytest
from django.test import Client

from dashboard.alerts import delivery, formats, queries, services
from dashboard.alerts.evaluation import evaluate_tenant
from dashboard.alerts.inputs import RuleInput
from dashboard.alerts.metrics import previous_window, window_of
from dashboard.analytics import latency, rollups
from dashboard.analytics import services as analytics
from dashboard.analytics.models import ExecutionRollup
from dashboard.analytics.queries import window_every, window_top, window_totals
from dashboard.analytics.rollups import Totals
from dashboard.core import clock
from dashboard.core.errors import ValidationFailed
from tests.alerts.conftest import run
from tests.analytics.conftest import raw_executions

RECENT = timedelta(minutes=5)
ATTRIBUTE = {
    "agent": "agent_id",
    "model": "model",
    "user": "user_id",
    "environment": "environment",
    "tag": "tags",
}


@pytest.fixture(autouse=True)
def nothing_left_pending():
    yield
    for firing in queries.pending_firings(limit=1000):
        firing.update(actions=[type(firing).pending.remove()])


def metric_rule(tenant, **fields):
    values = {"name": "Latency", "kind": "metric", "metric": "p95_ms", "scope": "tenant", "window": "day"}
    values.update(fields)
    return services.create_rule(tenant.scope, None, RuleInput(**values))


def values_of(execution, dimension: str) -> list[str]:
    found = getattr(execution, ATTRIBUTE[dimension])
    return list(found or []) if dimension == "tag" else [found] if found else []


def recomputed(executions, dimension: str) -> dict[str, Totals]:
    """Totals with the latency histogram per value, straight from raw executions."""
    sums: dict[str, Totals] = {}
    for execution in executions:
        for value in values_of(execution, dimension):
            sums.setdefault(value, Totals()).add_execution(execution)
    return sums


def exact_p95(durations: list[int]) -> int:
    """Nearest rank over the raw durations, no histogram."""
    ordered = sorted(durations)
    return ordered[max(1, math.ceil(0.95 * len(ordered))) - 1]


def test_p95_per_agent_model_user_environment_and_tag_equals_a_recomputation_over_hours_days_and_a_month(
    tenant, settings
):
    """API batches (each sent twice) and an importer run (run twice) over 40 days: every window of
    every dimension reads the same histogram, hence the same p95, as the raw executions' durations."""
    settings.ALERTS_CHECK_ON_INGEST = False
    rng = random.Random(29)
    minutes = [2, 7, 30, 50, 65, 90, 200, 700, 1300, 1420, 1500, 2000, 2900, 4000]
    minutes += [60 * 24 * days + rng.randrange(600) for days in (3, 5, 6, 8, 12, 20, 27, 29, 31, 36, 40)]
    bodies = []
    for index, ago in enumerate(minutes * 2):  # two runs a moment: more runs in each window
        body = run(
            f"p95-{tenant.tenant_id}-{index}",
            ago=timedelta(minutes=ago, seconds=index),
            user_id=f"user-{index % 3}",
            model=("gpt-4o-mini", "gpt-4o")[index % 2],
            status="failed" if index % 5 == 0 else "succeeded",
            duration_ms=int(rng.lognormvariate(7, 1.2)) % 300_000,  # 1 ms … 5 minutes, long-tailed
            environment=("production", "staging", None)[index % 3],
            tags=(["checkout"], ["checkout", "beta"], [])[index % 3],
        )
        bodies.append({name: value for name, value in body.items() if value not in (None, [])})
    for start in range(0, len(bodies), 10):
        batch = {"runs": bodies[start : start + 10]}
        agent = f"agent-{start // 10 % 2}"
        assert tenant.post(agent, batch)[0] == 201
        again = tenant.post(agent, batch)  # a client retrying its whole batch: counted once
        assert {r["result"] for r in again[1]["runs"]} == {"already_recorded"}
    now = clock.now()
    imported = [
        analytics.validate_run(
            tenant.tenant_id,
            "importer",
            run(
                ago=timedelta(minutes=ago), user_id="user-9", model="o3", environment="batch", duration_ms=ms
            ),
            now,
        )[0]
        for ago, ms in ((10, 40_000), (70, 9), (1400, 123_456), (60 * 24 * 9, 777), (60 * 24 * 30, 3_000))
    ]
    assert analytics.import_stream(imported).recorded == len(imported)
    assert analytics.import_stream(imported).recorded == 0  # a rerun of the importer adds nothing
    executions = raw_executions(tenant.tenant_id)
    assert len(executions) == len(bodies) + len(imported)
    now = clock.now()

    checked = 0
    for name in ("1h", "24h", "day", "7d", "30d", "month"):
        rule = type("Rule", (), {"window": name})
        current = window_of(rule, now)
        for span in (current, previous_window(rule, current)):
            if span.hourly:
                first, last = span.start.strftime("%Y-%m-%dT%H"), span.end.strftime("%Y-%m-%dT%H")
                inside = [e for e in executions if first <= e.started_at[:13] <= last]
            else:
                first, last = span.start.isoformat(), span.end.isoformat()
                inside = [e for e in executions if first <= e.started_at[:10] <= last]
            for dimension in ("agent", "model", "user", "environment", "tag"):
                expected = recomputed(inside, dimension)
                if not expected:
                    continue
                if dimension != "model":  # "each": every value of the window, with its histogram
                    every = window_every(tenant.tenant_id, dimension, span.start, span.end, histogram=True)
                    assert {v: t.buckets for v, t in every.items()} == {
                        v: t.buckets for v, t in expected.items()
                    }, (name, span.period, dimension)
                read = window_totals(
                    tenant.tenant_id, dimension, span.start, span.end, list(expected), histogram=True
                )
                for value, totals in expected.items():
                    got = read[value]
                    where = (name, span.period, dimension, value)
                    assert (got.count, got.buckets, got.p95_ms) == (
                        totals.count,
                        totals.buckets,
                        totals.p95_ms,
                    ), where
                    # The resolution: the raw p95 lies in the bucket the histogram's p95 reports.
                    raw = exact_p95([int(e.duration_ms) for e in inside if value in values_of(e, dimension)])
                    low, high = latency.bucket_range(latency.bucket_index(raw))
                    assert low <= got.p95_ms <= high, where
                    checked += 1
            # Each model (no value named): every model of the window, with its histogram.
            each = window_totals(tenant.tenant_id, "model", span.start, span.end, histogram=True)
            assert {v: t.buckets for v, t in each.items() if t.count} == {
                v: t.buckets for v, t in recomputed(inside, "model").items()
            }
    assert checked > 100


def test_top_lists_carry_counters_only_and_rows_stay_one_write_unit(tenant, settings):
    """The day buckets' histogram is for the rules' reads by key: a top list's totals are the
    counters alone, like kept pages and digests (which pack the counters only), so no page shows a p95
    made of some days only. A row with every one of the 49 buckets set stays under 1 KB."""
    settings.ALERTS_CHECK_ON_INGEST = False
    runs = [
        run(ago=RECENT, duration_ms=bound, user_id="everyone", environment="production", tags=["a", "b"])
        for bound in latency.BOUNDS_MS + (latency.BOUNDS_MS[-1] + 1,)
    ]
    for start in range(0, len(runs), 25):
        assert tenant.post("busy-agent", {"runs": runs[start : start + 25]})[0] == 201
    today = clock.now().date()
    for dimension in ("agent", "user", "environment", "tag"):
        (value, totals), *_ = window_top(tenant.tenant_id, dimension, today - timedelta(days=6), today, 3)
        assert totals.count == len(runs) and totals.buckets == [], dimension
    figures = window_totals(tenant.tenant_id, "agent", today, today, ["busy-agent"], histogram=True)
    assert figures["busy-agent"].buckets == [1] * latency.BUCKET_COUNT

    day_row = ExecutionRollup.get(
        rollups.ranked_pk(tenant.tenant_id, "agent", rollups.day_bucket(today)), "busy-agent"
    )
    sizes = {"ranked day row, 49 buckets": item_size(day_row)}
    hour = rollups.hour_key(clock.now() - RECENT)
    hourly = ExecutionRollup.get(rollups.hourly_pk(tenant.tenant_id, "user"), rollups.sk(hour, "everyone"))
    sizes["hourly user row, 49 buckets"] = item_size(hourly)
    assert all(size < 1024 for size in sizes.values()), sizes


def item_size(row: ExecutionRollup) -> int:
    """DynamoDB's item size: attribute names plus values (a number: 1 byte per 2 digits, plus 1)."""
    size = 0
    for name, value in row.serialize().items():
        ((kind, raw),) = value.items()
        size += len(name)
        if kind == "N":
            size += (len(raw.lstrip("-").replace(".", "")) + 1) // 2 + 1
        elif kind == "S":
            size += len(raw.encode())
        else:
            size += len(json.dumps(raw))
    return size + len("pk") + len("sk") + len(row.pk.encode()) + len(row.sk.encode())


@pytest.mark.parametrize("window", ["24h", "month"])
def test_a_p95_rule_on_one_agent_fires_once_and_resolves_when_back_under(tenant, settings, window):
    settings.ALERTS_CHECK_ON_INGEST = False
    rule = metric_rule(
        tenant,
        name="Slow bot",
        scope="agent",
        subject="slow-bot",
        window=window,
        warning=2_000,
        critical=60_000,
    )
    # Another agent's slowness is not this rule's business.
    assert (
        tenant.post("other-bot", {"runs": [run(ago=RECENT, duration_ms=90_000) for _ in range(3)]})[0] == 201
    )
    assert tenant.post("slow-bot", {"runs": [run(ago=RECENT, duration_ms=5_000) for _ in range(2)]})[0] == 201
    (fired,) = evaluate_tenant(tenant.tenant_id)
    slow = [int(e.duration_ms) for e in raw_executions(tenant.tenant_id) if e.agent_id == "slow-bot"]
    expected = Totals()
    for execution in raw_executions(tenant.tenant_id):
        if execution.agent_id == "slow-bot":
            expected.add_execution(execution)
    assert (fired.rule_id, fired.subject, fired.level) == (rule.rule_id, "slow-bot", "warning")
    assert int(fired.value) == expected.p95_ms and 2_000 <= expected.p95_ms < 60_000
    assert fired.message.startswith("p95 latency of the agent slow-bot over")
    change = fired.drivers_dict()["change"]
    assert (change["metric_now"], change["metric_before"], change["executions_now"]) == (
        expected.p95_ms,
        None,
        len(slow),
    )
    assert evaluate_tenant(tenant.tenant_id) == []  # once per level

    # Forty fast runs: the 95th percentile of 42 (the 39.9th) is now among the fast ones.
    for _ in range(2):
        fast = {"runs": [run(ago=RECENT, duration_ms=120) for _ in range(20)]}
        assert tenant.post("slow-bot", fast)[0] == 201
    (resolved,) = evaluate_tenant(tenant.tenant_id)
    assert (resolved.level, resolved.subject) == ("resolved", "slow-bot") and int(resolved.value) < 2_000
    assert evaluate_tenant(tenant.tenant_id) == []
    assert [f.level for f in reversed(queries.recent_firings(tenant.tenant_id))] == ["warning", "resolved"]


def test_p95_rules_watch_each_value_or_a_named_one_over_every_window(tenant, tenant_factory):
    for scope in ("agent", "user", "environment", "tag", "model"):
        owner = tenant_factory()  # a tenant has at most 50 rules
        for window in ("1h", "24h", "day", "7d", "30d", "month"):
            metric_rule(owner, name=f"each {window}", scope=scope, window=window, warning=500)
            metric_rule(owner, name=f"x {window}", scope=scope, subject="x", window=window, warning=500)
        assert len(queries.rules(owner.tenant_id)) == 12, scope
    with pytest.raises(ValidationFailed) as refused:
        metric_rule(tenant, scope="tag", window="1h", warning=0)
    assert set(refused.value.fields) == {"warning"}
    assert queries.rules(tenant.tenant_id) == []

    def post(body) -> tuple[int, dict]:
        answer = Client().post(
            "/api/alerts/rules",
            data=json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {tenant.token}",
        )
        return answer.status_code, answer.json()

    body = {"name": "API", "kind": "metric", "metric": "p95_ms", "scope": "environment", "warning": 800}
    status, answer = post({**body, "window": "30d", "warning": -1})
    assert status == 422 and set(answer["error"]["fields"]) == {"warning"}
    status, answer = post({**body, "window": "1h"})
    assert status == 201 and answer["scope"] == "environment" and answer["subject"] == ""
    status, answer = post({**body, "window": "30d", "subject": "production"})
    assert status == 201 and answer["scope"] == "environment" and answer["subject"] == "production"


def test_p95_rules_of_named_subjects_make_the_same_dynamodb_calls_whatever_the_volume(tenant, settings):
    from dashboard.dynamo.metrics import track

    settings.ALERTS_CHECK_ON_INGEST = False
    high = 86_400_000
    for scope, subject in (("agent", "a-1"), ("user", "u-1"), ("environment", "production"), ("tag", "t")):
        for window in ("24h", "30d", "month"):
            metric_rule(
                tenant, name=f"{scope} {window}", scope=scope, subject=subject, window=window, warning=high
            )
    metric_rule(tenant, name="Each model", scope="model", window="24h", warning=high)

    def calls() -> int:
        with track() as stats:
            assert evaluate_tenant(tenant.tenant_id) == []
        return stats.calls

    tenant.post("a-1", {"runs": [run(ago=RECENT, user_id="u-1", environment="production", tags=["t"])]})
    few = calls()
    for batch in range(4):  # 100 more runs over 25 days, 50 agents, 25 users
        runs = [
            run(
                ago=timedelta(days=n % 25, minutes=5 + 40 * (n % 30)),
                user_id=f"u-{n % 25}",
                environment="production",
                tags=["t"],
                duration_ms=10 * n + 1,
            )
            for n in range(batch * 25, batch * 25 + 25)
        ]
        assert tenant.post(f"a-{batch}", {"runs": runs})[0] == 201
    many = calls()
    # one states query, one rules query, one read per rule: a batch read by key (a value's hours or
    # days), the models' hours one query
    assert few == many <= 2 + len(queries.rules(tenant.tenant_id))


def test_a_tenant_latency_alert_names_the_slowest_models_with_their_p95(tenant, settings):
    settings.ALERTS_CHECK_ON_INGEST = False
    metric_rule(tenant, name="Tenant latency", window="1h", warning=1_000)
    for model, ms in (("o3", 30_000), ("gpt-4o", 3_000), ("gpt-4o-mini", 200), ("tiny", 20)):
        assert (
            tenant.post("bot", {"runs": [run(ago=RECENT, model=model, duration_ms=ms) for _ in range(5)]})[0]
            == 201
        )
    (fired,) = evaluate_tenant(tenant.tenant_id)
    expected = recomputed(raw_executions(tenant.tenant_id), "model")
    slowest = fired.drivers_dict()["slowest"]
    assert [(s["value"], s["p95_ms"], s["executions"]) for s in slowest] == [
        (model, expected[model].p95_ms, 5) for model in ("o3", "gpt-4o", "gpt-4o-mini")
    ]
    assert "model=o3" in slowest[0]["link"]
    assert f"slowest model o3: p95 {expected['o3'].p95_ms:,} ms" in delivery.text_of(fired)
    slack = json.dumps(formats.slack_message(delivery.alert_dict(fired, clock.now())))
    assert (
        f"Slowest model: o3 — p95 {expected['o3'].p95_ms:,} ms"
        in json.loads(slack)["blocks"][3]["text"]["text"]
    )


def test_each_value_rules_make_the_same_dynamodb_calls_whatever_the_volume(tenant, settings):
    """ "Each" agent, user, environment or tag on executions, error rate or p95 latency reads every
    value of the window: its calls follow the window's days and buckets, not its runs (ten times the
    runs of the same agents, users and days read the same number of times)."""
    from dashboard.dynamo.metrics import track

    settings.ALERTS_CHECK_ON_INGEST = False
    high = {"p95_ms": 86_400_000, "error_rate": 10_000, "executions": 10**12}  # never reached
    for scope in ("agent", "user", "environment", "tag"):
        for metric, window in (
            ("p95_ms", "24h"),
            ("p95_ms", "30d"),
            ("error_rate", "7d"),
            ("executions", "month"),
        ):
            metric_rule(
                tenant,
                name=f"{scope} {metric} {window}",
                metric=metric,
                scope=scope,
                window=window,
                warning=high[metric],
            )

    def send(times: int) -> None:
        for _ in range(times):
            runs = [
                run(
                    ago=timedelta(days=n % 5, minutes=5 + n),
                    user_id=f"u-{n % 7}",
                    environment=("production", "staging")[n % 2],
                    tags=[f"t-{n % 3}"],
                    duration_ms=10 * n + 1,
                )
                for n in range(20)
            ]
            assert tenant.post("a-1", {"runs": runs})[0] == 201

    def calls() -> int:
        with track() as stats:
            assert evaluate_tenant(tenant.tenant_id) == []
        return stats.calls

    send(1)
    few = calls()
    send(10)
    assert calls() == few, "the same values over the same days: the same calls"
