"""The rollups always equal a recomputation from the raw executions, whatever the load."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

from dashboard.analytics import demo, services
from dashboard.core import clock
from dashboard.core.clock import iso_ms, parse_iso
from dashboard.core.errors import ServiceUnavailable
from tests.analytics.conftest import (
    STAFF_SCOPE,
    raw_executions,
    recomputed_rollups,
    recomputed_top,
    stored_rollups,
)


def test_rollups_equal_the_history_after_a_mixed_concurrent_load_with_duplicates(tenant):
    executions = list(
        demo.generate(
            random.Random(5),
            tenant.tenant_id,
            ["ann", "bob", "cy"],
            120,
            clock.now(),
            days=20,
            id_prefix="mix",
        )
    )
    # Four writers at once, each sending an overlapping half: every execution is sent twice,
    # often at the same moment, and every writer fights over the same day/agent/model rows.
    slices = [executions[0::2], executions[1::2], executions[::-2], executions[-2::-2]]
    outcomes: list[services.Outcome] = []
    errors: list[BaseException] = []

    def writer(batch):
        try:
            for execution in batch:
                for attempt in range(6):  # "try again shortly" (an overloaded machine), as clients do
                    try:
                        outcomes.append(services.write_execution(_copy(execution)))
                        break
                    except ServiceUnavailable:
                        if attempt == 5:
                            raise
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(batch,)) for batch in slices]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    # Retries through the API, some moved in time (a client whose clock drifted): counted once still.
    for execution in executions[:10]:
        body = {
            "execution_id": execution.execution_id,
            "user_id": execution.user_id,
            "model": execution.model,
            "status": execution.status,
            "started_at": iso_ms(parse_iso(execution.started_at) + timedelta(seconds=3)),
            "duration_ms": int(execution.duration_ms),
            "tokens_in": int(execution.tokens_in),
            "tokens_out": int(execution.tokens_out),
        }
        status, answer = tenant.post(execution.agent_id, body)
        assert (status, answer["runs"][0]["result"]) == (200, "already_recorded")

    assert sum(outcome.recorded for outcome in outcomes) == len(executions)
    assert len(raw_executions(tenant.tenant_id)) == len(executions)
    stored = stored_rollups(tenant.tenant_id)
    assert stored == recomputed_rollups(tenant.tenant_id)
    # The tenant's own total rows (its environments' sub-scopes count the same executions again).
    total = sum(row["count"] for (pk, _), row in stored.items() if pk == f"{tenant.tenant_id}#total")
    assert total == len(executions)


def _copy(execution):
    """A fresh model object per attempt (threads must not share one)."""
    return type(execution).from_raw_data(execution.serialize())


def test_top_lists_and_previous_figures_equal_a_recomputation_under_late_duplicate_concurrent_batches(tenant):
    """API batches from 6 writers at once, every batch sent twice, many runs for days long past
    (late arrivals into closed weeks and months): every top list, over rolling and calendar ranges,
    equals the raw recomputation, and so do the previous-period figures of its rows."""
    rng = random.Random(11)
    users = [f"u{n:03d}" for n in range(60)]  # more users than a top list shows
    executions = list(
        demo.generate(rng, tenant.tenant_id, users, 420, clock.now(), days=75, id_prefix="late")
    )
    rng.shuffle(executions)  # old days arrive after recent ones
    by_agent: dict[str, list] = {}
    for execution in executions:
        by_agent.setdefault(execution.agent_id, []).append(execution)
    batches = []
    for agent, runs in by_agent.items():
        for start in range(0, len(runs), 25):
            body = {"runs": [_body(execution) for execution in runs[start : start + 25]]}
            batches += [(agent, body), (agent, body)]  # each batch twice: a client retrying
    rng.shuffle(batches)
    errors: list = []

    def writer(mine):
        for agent, body in mine:
            for _attempt in range(6):  # a 503 (overloaded machine) is retried, as clients are told to
                status, answer = tenant.post(agent, body)
                if status != 503:
                    break
            if status not in (200, 201):
                errors.append((status, answer))

    threads = [threading.Thread(target=writer, args=(batches[n::6],)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    stored_raw = raw_executions(tenant.tenant_id)
    assert len(stored_raw) == len(executions)
    assert stored_rollups(tenant.tenant_id) == recomputed_rollups(tenant.tenant_id)

    from dashboard.analytics import overview, queries
    from dashboard.analytics.inputs import Period

    today = clock.now().date()
    ranges = [Period.last(days, today) for days in (7, 30, 90)]
    ranges.append(Period.custom(today - timedelta(days=58), today - timedelta(days=3), today))  # odd edges
    for period in ranges:
        for dimension in ("agent", "model", "user"):
            expected = recomputed_top(stored_raw, dimension, period.start, period.end)
            for first_page in (60, 2):  # 2: buckets read in several rounds, candidates completed
                got = queries.top(tenant.tenant_id, dimension, period.start, period.end, 10, first_page)
                assert [(v, t.cost_micro_usd, t.count) for v, t in got] == expected, (period, dimension)
        # The overview page's top lists, each row with its previous-period figures.
        figures = overview.build(STAFF_SCOPE, period, tenant.tenant_id)
        tops = {"agent": figures.top_agents, "model": figures.top_models, "user": figures.top_users}
        for dimension, rows in tops.items():
            assert rows, (period, dimension)
            before = {
                value: (cost, runs)
                for value, cost, runs in recomputed_top(
                    stored_raw, dimension, period.previous.start, period.previous.end, k=10_000
                )
            }
            for row in rows:
                assert (row.previous.cost_micro_usd, row.previous.count) == before.get(row.value, (0, 0))


def _total_count(tenant_id: str) -> int:
    return sum(r["count"] for (pk, _), r in stored_rollups(tenant_id).items() if pk.endswith("#total"))


def test_a_writer_stopped_between_storing_and_counting_is_finished_by_the_retry(tenant):
    """The execution and its guard landed, the counters did not (the process died): the client's
    retry counts it, exactly once, and a second retry counts nothing."""
    from dashboard.analytics import services
    from tests.analytics.conftest import run

    body = run("stopped-1", ago=timedelta(days=40))
    execution, errors = services.validate_run(tenant.tenant_id, "agent-x", body, clock.now())
    assert errors == {}
    services._claim([execution], "a" * 32)  # step 1 only
    assert stored_rollups(tenant.tenant_id) == {}
    for expected in ("recorded", "already_recorded"):
        status, answer = tenant.post("agent-x", body)
        assert answer["runs"][0]["result"] == expected
    assert stored_rollups(tenant.tenant_id) == recomputed_rollups(tenant.tenant_id)
    assert _total_count(tenant.tenant_id) == 1


def test_a_batch_stopped_after_its_first_part_is_finished_once_by_a_retry_of_one_of_its_runs(tenant):
    """A batch over many days and users needs several parts. The writer died after the first: a retry
    of a single run of that batch counts the whole batch, each part once, however often it comes."""
    from dashboard.analytics import rollups, services
    from tests.analytics.conftest import run

    bodies = [run(f"parts-{n}", ago=timedelta(days=n + 1), user_id=f"user-{n}") for n in range(25)]
    now = clock.now()
    executions = [services.validate_run(tenant.tenant_id, "agent-p", body, now)[0] for body in bodies]
    batch = "b" * 32
    hours_from = rollups.live_hours_from(now)  # what the writer took: the marker keeps it
    claimed, _ = services._claim(executions, batch, hours_from)
    sums = rollups.Increments(shard=0, hours_from=hours_from)
    for execution in claimed:
        sums.add(execution)
    parts = services._parts(sums)
    assert len(parts) > 1
    services._apply_part(parts[0], (f"{tenant.tenant_id}#batch#{batch}", "part-0"))  # then it died
    assert 0 < len(stored_rollups(tenant.tenant_id)) < len(sums)
    results = [tenant.post("agent-p", bodies[7])[1]["runs"][0]["result"] for _ in range(2)]
    assert results == ["recorded", "already_recorded"]
    assert stored_rollups(tenant.tenant_id) == recomputed_rollups(tenant.tenant_id)
    assert _total_count(tenant.tenant_id) == 25
    tenant.post("agent-p", {"runs": bodies})  # the whole batch again: nothing more
    assert _total_count(tenant.tenant_id) == 25


def test_a_batch_begun_before_hourly_rows_is_finished_without_them_and_counted_once(tenant):
    """The previous version claimed a batch of recent runs (its marker has no `hours_from`) and landed
    its first part without hourly rows, then died. The retry builds the same parts (no hourly rows),
    so every daily and ranked row is counted once; the hourly windows miss that one batch."""
    from dashboard.analytics import rollups, services
    from dashboard.analytics.models import ExecutionRollup
    from tests.analytics.conftest import run

    bodies = [run(f"old-{n}", ago=timedelta(hours=6 * n + 1), user_id=f"user-{n}") for n in range(25)]
    now = clock.now()
    executions = [services.validate_run(tenant.tenant_id, "agent-o", body, now)[0] for body in bodies]
    batch = "c" * 32
    marker = (f"{tenant.tenant_id}#batch#{batch}", "batch")
    claimed, _ = services._claim(executions, batch)
    ExecutionRollup(*marker).update(actions=[ExecutionRollup.hours_from.remove()])  # as the old version
    sums = rollups.Increments(shard=0, hours_from=rollups.NO_HOURS)
    for execution in claimed:
        sums.add(execution)
    parts = services._parts(sums)
    assert len(parts) > 1
    services._apply_part(parts[0], (marker[0], "part-0"))  # then it died
    assert tenant.post("agent-o", bodies[3])[1]["runs"][0]["result"] == "recorded"
    stored = stored_rollups(tenant.tenant_id)
    recomputed = recomputed_rollups(tenant.tenant_id)
    assert not any(rollups.is_hourly(pk) for pk, _ in stored)
    assert stored == {key: row for key, row in recomputed.items() if not rollups.is_hourly(key[0])}
    assert _total_count(tenant.tenant_id) == 25


def test_a_guard_from_before_batch_markers_is_counted_once_by_the_retry(tenant):
    """Stored by the previous version, which stopped before counting: the guard has no batch and no
    `counted`. The retry counts it by the guard's own flag, once."""
    from dashboard.analytics import services
    from dashboard.analytics.models import ExecutionRollup
    from tests.analytics.conftest import run

    body = run("legacy-1", ago=timedelta(days=3))
    execution, _ = services.validate_run(tenant.tenant_id, "agent-l", body, clock.now())
    execution.save()
    ExecutionRollup(
        *services.guard_key(tenant.tenant_id, "legacy-1"),
        tenant_id=tenant.tenant_id,
        ref=f"{execution.agent_key}|{execution.sk}",
    ).save()
    results = [tenant.post("agent-l", body)[1]["runs"][0]["result"] for _ in range(2)]
    assert results == ["recorded", "already_recorded"]
    assert stored_rollups(tenant.tenant_id) == recomputed_rollups(tenant.tenant_id)
    assert _total_count(tenant.tenant_id) == 1


def _body(execution) -> dict:
    return {
        "execution_id": execution.execution_id,
        "user_id": execution.user_id,
        "model": execution.model,
        "status": execution.status,
        "started_at": execution.started_at,
        "duration_ms": int(execution.duration_ms),
        "tokens_in": int(execution.tokens_in),
        "tokens_out": int(execution.tokens_out),
        "cost_micro_usd": int(execution.cost_micro_usd),
        **({"session_id": execution.session_id} if execution.session_id else {}),
    }
