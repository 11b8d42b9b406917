"""Kept first pages of the top lists (analytics.queries.TopPages): a settled past is read in one
batch instead of a query per bucket, and neither a late arrival nor a half-finished import makes a
top list, a previous-period figure or a driver differ from a recomputation from raw executions."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from dashboard.analytics import demo, overview, services
from dashboard.analytics.inputs import Period
from dashboard.analytics.queries import rollup_reads
from dashboard.core import clock
from dashboard.dynamo import metrics
from tests.analytics.conftest import raw_executions, recomputed_top, run

USERS = [f"u{n:03d}" for n in range(80)]  # more users than a top list shows


def _seed(tenant, count: int, prefix: str, seed: int = 3) -> list:
    executions = list(
        demo.generate(
            random.Random(seed), tenant.tenant_id, USERS, count, clock.now(), days=80, id_prefix=prefix
        )
    )
    services.write_batch(executions)
    return executions


def _shown(tenant, period: Period) -> dict:
    data = overview.build(tenant.scope, period)
    return {
        "agent": [(r.value, r.totals.cost_micro_usd, r.totals.count) for r in data.top_agents],
        "user": [(r.value, r.totals.cost_micro_usd, r.totals.count) for r in data.top_users],
        "model": [(r.value, r.totals.cost_micro_usd, r.totals.count) for r in data.top_models],
        "previous": {
            (dimension, r.value): (r.previous.cost_micro_usd, r.previous.count)
            for dimension, rows in (
                ("agent", data.top_agents),
                ("user", data.top_users),
                ("model", data.top_models),
            )
            for r in rows
        },
        "drivers": sum(d.change for d in data.drivers),
        "change": data.cost_change,
    }


def _recomputed(tenant, period: Period) -> dict:
    raw = raw_executions(tenant.tenant_id)
    before = {
        dimension: {
            value: (cost, runs)
            for value, cost, runs in recomputed_top(
                raw, dimension, period.previous.start, period.previous.end, 10_000
            )
        }
        for dimension in ("agent", "user", "model")
    }
    tops = {
        dimension: recomputed_top(raw, dimension, period.start, period.end)
        for dimension in ("agent", "user", "model")
    }
    return {
        **tops,
        "previous": {
            (dimension, value): before[dimension].get(value, (0, 0))
            for dimension in ("agent", "user", "model")
            for value, _, _ in tops[dimension]
        },
    }


def _rank_queries(tenant, period: Period) -> int:
    """How many queries one overview makes beyond its three daily-row queries."""
    with metrics.track() as stats:
        overview.build(tenant.scope, period)
    return stats.operations.get("Query", 0) - 3


def _check(tenant, period: Period) -> None:
    shown = _shown(tenant, period)
    expected = _recomputed(tenant, period)
    assert {key: shown[key] for key in expected} == expected, period
    assert shown["drivers"] == shown["change"]


@pytest.fixture
def settled_at_once(monkeypatch):
    """Treat every bucket as settled as soon as it was written (the index has caught up here)."""
    monkeypatch.setattr(rollup_reads, "SETTLED_SECONDS", 0)


def test_a_settled_past_is_read_from_kept_pages_and_a_late_arrival_still_counts(tenant, settled_at_once):
    _seed(tenant, 240, "kept")
    today = clock.now().date()
    periods = [Period.last(30, today), Period.last(90, today)]
    for period in periods:
        _check(tenant, period)  # the first view reads the buckets live and keeps their first pages
    for period in periods:
        assert _rank_queries(tenant, period) == 0  # every bucket from its kept page
        _check(tenant, period)
    # A late arrival into a past, kept bucket (a month and a week ago): a new biggest spender.
    for ago, execution_id in ((timedelta(days=40), "late-1"), (timedelta(days=8), "late-2")):
        status, _ = tenant.post(
            "agent-late",
            run(execution_id, ago=ago, user_id="late-whale", tokens_in=900_000, tokens_out=400_000),
        )
        assert status == 201
    for period in periods:
        assert _rank_queries(tenant, period) > 0  # the changed buckets are read live again
        _check(tenant, period)
        assert _shown(tenant, period)["user"][0][0] == "late-whale"
    for period in periods:
        assert _rank_queries(tenant, period) == 0  # and kept anew
        _check(tenant, period)


def test_a_bucket_written_within_the_settling_time_is_not_kept(tenant):
    _seed(tenant, 120, "fresh")
    period = Period.last(30, clock.now().date())
    _check(tenant, period)
    assert _rank_queries(tenant, period) > 0  # still read live: the index may lag a fresh write
    _check(tenant, period)


def test_a_half_imported_chunk_is_never_taken_for_a_kept_page(tenant, settled_at_once, monkeypatch):
    """The import died after the chunk's first part of counter rows (so some ranked rows hold the
    chunk, its daily totals do not); pages are kept meanwhile; the rerun finishes the chunk and
    the top lists equal a recomputation (the kept pages of the half-written state do not hold)."""
    _seed(tenant, 60, "before", seed=4)
    executions = list(
        demo.generate(random.Random(9), tenant.tenant_id, USERS, 300, clock.now(), days=80, id_prefix="imp")
    )
    original = services._apply_part
    landed = []

    def dies_after_the_first_part(rows, marker, finish=False):
        if landed:
            raise RuntimeError("the importer stopped")
        landed.append(marker)
        return original(rows, marker, finish)

    monkeypatch.setattr(services, "_apply_part", dies_after_the_first_part)
    with pytest.raises(RuntimeError):
        services.import_chunk(executions)
    today = clock.now().date()
    periods = [Period.last(30, today), Period.last(90, today)]
    for period in periods:
        overview.build(tenant.scope, period)  # keeps pages of the half-written state
    monkeypatch.setattr(services, "_apply_part", original)
    services.import_chunk(executions)  # the rerun
    for period in periods:
        _check(tenant, period)
