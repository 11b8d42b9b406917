"""Re-pricing the past: after a price change, every figure equals a recomputation at the new prices,
counted once however many runs, retries and live writers there are."""

from __future__ import annotations

import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from opentelemetry.sdk.trace.export import SpanExportResult

from dashboard.analytics import overview, pricing, queries, repricing, services
from dashboard.analytics.inputs import Period, PriceIn
from dashboard.analytics.models import Execution, PriceChange
from dashboard.core import clock
from tests.analytics.conftest import (
    STAFF_SCOPE,
    raw_executions,
    recomputed_rollups,
    recomputed_top,
    run,
    slug,
    stored_rollups,
)
from tests.api.spans import exporter, record_agent_run

MINI = "gpt-4o-mini-2024-07-18"  # as OpenAI answers: priced through the catalogue's gpt-4o-mini
NEW = pricing.Rates(input=1_000_000, output=2_000_000)  # the override: $1 / $2 per 1M tokens


@pytest.fixture(autouse=True)
def no_price_cache(settings):
    settings.PRICES_CACHE_SECONDS = 0  # one process: no other process's cache to wait for


def _flagged_since(tenant_id: str) -> str | None:
    """The tenant's own "prices changed" day (other tests' overrides for every tenant aside)."""
    try:
        return PriceChange.get(*PriceChange.pending_key(tenant_id), consistent_read=True).since
    except PriceChange.DoesNotExist:
        return None


def _usage(execution: Execution) -> pricing.Usage:
    return pricing.Usage(
        input=int(execution.tokens_in),
        output=int(execution.tokens_out),
        cache_read=int(execution.tokens_cache_read or 0),
    )


def _override(model: str, days_ago: int, tenant_id: str | None = None) -> None:
    services.save_price(
        STAFF_SCOPE,
        PriceIn.clean(
            model=model,
            effective_from=(clock.now() - timedelta(days=days_ago)).date().isoformat(),
            tenant_id=tenant_id,
            input="1",
            output="2",
        ),
    )


def _record_history(tenant, days: int = 6, per_day: int = 4) -> str:
    agent = slug("agent")
    now = clock.now()
    # Each day's runs on that calendar day, whenever the suite runs (an hour apart, or closer in the
    # day's first hours): a price effective from a day re-prices exactly that day's runs.
    since_midnight = now - now.replace(hour=0, minute=0, second=0, microsecond=0)
    runs = []
    for day in range(days):
        for n in range(per_day):
            runs.append(
                run(
                    f"d{day}-{n}",
                    model=MINI,
                    user_id=f"user-{n % 3}",
                    ago=timedelta(days=day)
                    + min(timedelta(hours=1 + n), since_midnight * (n + 1) / (per_day + 1)),
                    tokens_in=1_000 + 100 * n,
                    tokens_out=400 + 10 * day,
                    tokens_cache_read=200 * (n % 2),
                    # Ranked rows of environments and tags are re-priced too (rollups.keys_for).
                    environment=("production", "staging")[n % 2],
                    tags=[f"tag-{n % 3}", "all"],
                )
            )
    runs.append(run("client-cost", model=MINI, ago=timedelta(days=1), cost_micro_usd=77))
    for start in range(0, len(runs), 25):
        status, _ = tenant.post(agent, {"runs": runs[start : start + 25]})
        assert status == 201
    return agent


def _expected(execution: Execution, since: str) -> int:
    if execution.price_source == "client":
        return int(execution.cost_micro_usd)
    if execution.started_at[:10] >= since:
        return NEW.cost(_usage(execution))
    return pricing.catalogue_quote(execution.model, _usage(execution), clock.now()).cost_micro_usd


def _assert_exact(tenant_id: str, since: str) -> None:
    executions = raw_executions(tenant_id)
    assert {e.execution_id: int(e.cost_micro_usd) for e in executions} == {
        e.execution_id: _expected(e, since) for e in executions
    }
    assert stored_rollups(tenant_id) == recomputed_rollups(tenant_id)


def _run(tenant_id: str | None, days: int, threads: int | None = None, **options) -> repricing.Progress:
    today = clock.now().date()
    job = repricing.start(STAFF_SCOPE, tenant_id, today - timedelta(days=days), today, **options)
    return repricing.run(job, sleep=lambda _: None, threads=threads)


def test_a_price_change_for_past_days_is_flagged_until_a_re_pricing_makes_every_figure_exact(tenant):
    _record_history(tenant)
    before = {e.execution_id: int(e.cost_micro_usd) for e in raw_executions(tenant.tenant_id)}
    assert all(cost > 0 for cost in before.values())
    _override(f"{MINI[:11]}", days_ago=3, tenant_id=tenant.tenant_id)  # "gpt-4o-mini", a contract
    since = (clock.now() - timedelta(days=3)).date().isoformat()
    assert _flagged_since(tenant.tenant_id) == since
    assert queries.prices_changed_since(tenant.tenant_id) <= since  # the overview's notice
    notice = overview.build(STAFF_SCOPE, Period.last(30, clock.now().date()), tenant.tenant_id)
    assert notice.prices_changed_since is not None and notice.prices_changed_since <= since
    # Nothing changed yet: the figures are the old ones until re-priced.
    assert {e.execution_id: int(e.cost_micro_usd) for e in raw_executions(tenant.tenant_id)} == before
    progress = _run(tenant.tenant_id, days=7)
    affected = [e for e in raw_executions(tenant.tenant_id) if e.started_at[:10] >= since]
    assert progress.changed == len(affected) - 1 >= 12  # every run from `since` on but the client's
    assert progress.skipped == 1
    _assert_exact(tenant.tenant_id, since)
    assert _flagged_since(tenant.tenant_id) is None
    again = _run(tenant.tenant_id, days=7)  # run again: nothing left to change
    assert again.changed == 0 and again.delta_micro_usd == 0
    _assert_exact(tenant.tenant_id, since)
    executions = raw_executions(tenant.tenant_id)
    today = clock.now().date()
    for dimension in ("user", "model"):
        got = queries.top(tenant.tenant_id, dimension, today - timedelta(days=6), today, 10)
        expected = recomputed_top(executions, dimension, today - timedelta(days=6), today)
        assert [(v, t.cost_micro_usd, t.count) for v, t in got] == expected


def test_two_runs_at_once_beside_live_ingestion_count_nothing_twice(tenant):
    agent = _record_history(tenant, days=4, per_day=6)
    _override("gpt-4o-mini", days_ago=2, tenant_id=tenant.tenant_id)
    since = (clock.now() - timedelta(days=2)).date().isoformat()
    errors: list[BaseException] = []

    def guarded(target, *args):
        def body():
            try:
                target(*args)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        return threading.Thread(target=body)

    def live_writer():
        for n in range(12):
            body = run(f"live-{n}", model=MINI, ago=timedelta(hours=n, minutes=5), tokens_in=900 + n)
            assert tenant.post(agent, body)[0] == 201

    threads = [
        guarded(_run, tenant.tenant_id, 5),
        guarded(_run, tenant.tenant_id, 5),
        guarded(live_writer),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    _assert_exact(tenant.tenant_id, since)


def _dies_on_call(real, number: int):
    """`real`, except that its `number`-th call stops as a machine would (nothing after it runs)."""
    calls = {"n": 0}

    def stand_in(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == number:
            raise RuntimeError("the machine stopped")
        return real(*args, **kwargs)

    return stand_in


def test_an_interrupted_run_run_again_finishes(tenant, monkeypatch):
    _record_history(tenant, days=5)
    _override("gpt-4o-mini", days_ago=4, tenant_id=tenant.tenant_id)
    since = (clock.now() - timedelta(days=4)).date().isoformat()
    real = repricing.reprice_day
    monkeypatch.setattr(repricing, "reprice_day", _dies_on_call(real, 3))  # the third day
    today = clock.now().date()
    job = repricing.start(STAFF_SCOPE, tenant.tenant_id, today - timedelta(days=5), today)
    with pytest.raises(RuntimeError):
        repricing.run(job, sleep=lambda _: None)
    assert repricing.get_job(job.job_id).status == "failed"
    assert _flagged_since(tenant.tenant_id) == since  # still flagged
    monkeypatch.setattr(repricing, "reprice_day", real)
    _run(tenant.tenant_id, days=5)
    _assert_exact(tenant.tenant_id, since)
    assert _flagged_since(tenant.tenant_id) is None


def _day_items_left(tenant_id: str, days: int) -> list[str]:
    today = clock.now().date()
    return [
        item.item
        for n in range(days + 1)
        for item in PriceChange.query(
            PriceChange.day_book(tenant_id, (today - timedelta(days=n)).isoformat()), consistent_read=True
        )
    ]


@pytest.mark.parametrize("dies_in", ["settle", "_add_part"])
def test_a_run_stopped_before_or_while_adding_a_days_ledgers_is_finished_by_the_next(
    tenant, monkeypatch, dies_in
):
    _record_history(tenant, days=3, per_day=8)
    _override("gpt-4o-mini", days_ago=2, tenant_id=tenant.tenant_id)
    since = (clock.now() - timedelta(days=2)).date().isoformat()
    monkeypatch.setattr(repricing, "TX_ITEMS", 6)  # many ledgers and many parts from a few executions
    real = getattr(repricing, dies_in)
    monkeypatch.setattr(repricing, dies_in, _dies_on_call(real, 2))
    with pytest.raises(RuntimeError):
        _run(tenant.tenant_id, days=3, threads=1)
    assert _day_items_left(tenant.tenant_id, 3)  # ledgers (and a plan) wait for the next run
    assert stored_rollups(tenant.tenant_id) != recomputed_rollups(tenant.tenant_id)  # the rows lag
    monkeypatch.setattr(repricing, dies_in, real)
    again = _run(tenant.tenant_id, days=3)
    assert again.changed < 24  # what the first run changed is not changed twice
    _assert_exact(tenant.tenant_id, since)
    assert _day_items_left(tenant.tenant_id, 3) == []


def test_two_runs_settling_the_same_days_at_once_add_each_ledger_once(tenant, monkeypatch):
    _record_history(tenant, days=3, per_day=10)
    _override("gpt-4o-mini", days_ago=2, tenant_id=tenant.tenant_id)
    since = (clock.now() - timedelta(days=2)).date().isoformat()
    monkeypatch.setattr(repricing, "TX_ITEMS", 5)
    real_settle = repricing.settle
    monkeypatch.setattr(repricing, "settle", lambda *args: None)  # the executions move; the rows wait
    _run(tenant.tenant_id, days=3)
    assert len(_day_items_left(tenant.tenant_id, 3)) > 6
    today = clock.now().date()
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def settler():
        try:
            barrier.wait()
            for n in range(4):
                real_settle(tenant.tenant_id, today - timedelta(days=n))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=settler) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    _assert_exact(tenant.tenant_id, since)
    assert _day_items_left(tenant.tenant_id, 3) == []


def test_client_costs_are_re_priced_only_when_asked(tenant):
    _record_history(tenant, days=2, per_day=1)
    _override("gpt-4o-mini", days_ago=3, tenant_id=tenant.tenant_id)
    _run(tenant.tenant_id, days=3)
    [client] = [e for e in raw_executions(tenant.tenant_id) if e.execution_id == "client-cost"]
    assert int(client.cost_micro_usd) == 77
    _run(tenant.tenant_id, days=3, include_client=True)
    [client] = [e for e in raw_executions(tenant.tenant_id) if e.execution_id == "client-cost"]
    assert (int(client.cost_micro_usd), client.price_source) == (NEW.cost(_usage(client)), "contract")
    assert stored_rollups(tenant.tenant_id) == recomputed_rollups(tenant.tenant_id)


def test_an_execution_from_a_trace_is_re_priced_call_by_call(web_server, tenant):
    agent = slug("traced")
    assert exporter(web_server, tenant.token).export(record_agent_run(agent)) == SpanExportResult.SUCCESS
    [execution] = raw_executions(tenant.tenant_id)
    assert execution.price_source == "trace"
    _override("gpt-4o", days_ago=0, tenant_id=tenant.tenant_id)  # only the gpt-4o call changes
    _run(tenant.tenant_id, days=1)
    [execution] = raw_executions(tenant.tenant_id)
    mini = pricing.catalogue_quote("gpt-4o-mini", pricing.Usage(input=1000, output=500), clock.now())
    assert int(execution.cost_micro_usd) == mini.cost_micro_usd + NEW.cost(
        pricing.Usage(input=2000, output=300)
    )
    assert stored_rollups(tenant.tenant_id) == recomputed_rollups(tenant.tenant_id)


def test_manage_py_reprice_starts_from_the_earliest_changed_day(tenant):

    _record_history(tenant, days=3, per_day=2)
    _override("gpt-4o-mini", days_ago=1, tenant_id=tenant.tenant_id)
    since = (clock.now() - timedelta(days=1)).date().isoformat()
    first = queries.prices_changed_since(tenant.tenant_id)  # other tests' overrides may be earlier
    assert first is not None and first <= since
    out = StringIO()
    call_command("reprice", "--tenant", tenant.tenant_id, stdout=out)
    assert f"Re-pricing {first} to " in out.getvalue()
    assert "executions changed" in out.getvalue() and "1 kept as sent" in out.getvalue()
    _assert_exact(tenant.tenant_id, since)
    with pytest.raises(PriceChange.DoesNotExist):  # the tenant's change is re-priced: no longer flagged
        PriceChange.get(*PriceChange.pending_key(tenant.tenant_id))


def test_the_worker_runs_a_queued_run_once_and_leaves_one_its_caller_runs_alone(tenant):
    today = clock.now().date()
    mine = repricing.start(STAFF_SCOPE, tenant.tenant_id, today, today, queued=False)  # manage.py's way
    queued = repricing.start(STAFF_SCOPE, tenant.tenant_id, today, today)  # the prices page's way
    repricing.run_queued()
    assert repricing.get_job(queued.job_id).status == "done"
    assert repricing.get_job(mine.job_id).status == "running"  # its caller runs it, not the worker
    assert repricing.run_queued() == 0
