"""The demo seed: believable executions whose rollups equal the history, and budgets in three states."""

from __future__ import annotations

import random

from dashboard.accounts.models import Tenant
from dashboard.analytics import demo, queries, services, traces
from dashboard.analytics.models import ExecutionRollup, TraceItem
from dashboard.analytics.queries import budget_status
from dashboard.core import clock
from dashboard.core.otlp import Acceptance
from dashboard.core.seeding import SeedContext
from tests.analytics.conftest import raw_executions, recomputed_rollups, stored_rollups


def test_seeded_rollups_equal_the_seeded_history_and_budgets_show_each_state(people, tenant_factory):
    kits = [tenant_factory("Seed A"), tenant_factory("Seed B"), tenant_factory("Seed C")]
    ctx = SeedContext(rng=random.Random(3), now=clock.now(), options={"executions": 600}, quiet=True)
    ctx.tenants = [Tenant.get(kit.tenant_id) for kit in kits]
    ctx.admins = {kit.tenant_id: [kit.admin] for kit in kits}
    ctx.staff = [people["staff"]]

    demo.seed(ctx)

    counts = [len(raw_executions(kit.tenant_id)) for kit in kits]
    # 600 generated executions plus the demo's three traced runs per tenant (sent as OpenTelemetry).
    assert sum(counts) == 600 + 3 * len(kits) and counts[0] > counts[1] > counts[2]
    for kit in kits:
        assert stored_rollups(kit.tenant_id) == recomputed_rollups(kit.tenant_id)
        execution = raw_executions(kit.tenant_id)[0]
        guard = ExecutionRollup.get(*services.guard_key(kit.tenant_id, execution.execution_id))
        assert guard.ref == f"{execution.agent_key}|{execution.sk}"
    states = [
        budget_status(kit.tenant_id, Tenant.get(kit.tenant_id).monthly_budget_micro_usd, clock.now()).state
        for kit in kits
    ]
    assert states == ["ok", "forecast_over", "over"]


def test_a_resent_seeded_execution_is_already_recorded(people, tenant):
    ctx = SeedContext(rng=random.Random(4), now=clock.now(), options={"executions": 30}, quiet=True)
    ctx.tenants = [Tenant.get(tenant.tenant_id)]
    ctx.admins = {tenant.tenant_id: [tenant.admin]}
    demo.seed(ctx)
    execution = raw_executions(tenant.tenant_id)[0]
    outcome = services.write_execution(execution)
    assert outcome.recorded is False
    assert stored_rollups(tenant.tenant_id) == recomputed_rollups(tenant.tenant_id)


def _seeded(people, tenant, executions: int, seed: int = 5) -> list:
    ctx = SeedContext(
        rng=random.Random(seed), now=clock.now(), options={"executions": executions}, quiet=True
    )
    ctx.tenants = [Tenant.get(tenant.tenant_id)]
    ctx.admins = {tenant.tenant_id: [tenant.admin]}
    ctx.staff = [people["staff"]]
    demo.seed(ctx)
    return raw_executions(tenant.tenant_id)


def _counted_calls(execution) -> list:
    trace_id, _ = queries.EXECUTION_ID.match(execution.execution_id).groups()
    return [
        item
        for item in TraceItem.query(f"{execution.tenant_id}#{trace_id}", TraceItem.sk.startswith("count#"))
        if item.execution_id == execution.execution_id
    ]


def test_most_seeded_executions_show_their_steps_and_add_up(people, tenant):
    executions = _seeded(people, tenant, 200)
    traced = [e for e in executions if queries.EXECUTION_ID.match(e.execution_id)]
    assert len(traced) > len(executions) * 0.75
    kinds_seen = set()
    for execution in traced:
        view = queries.execution_steps(execution)
        assert view is not None
        kinds = [step.span.kind for step in view.steps]
        kinds_seen |= set(kinds)
        assert kinds[0] == "agent" and "model" in kinds
        calls = _counted_calls(execution)
        assert calls and {call.span_id for call in calls} == {s.span.span_id for s in view.steps if s.counted}
        # What traces.reconcile would have stored: the execution is the sum of its counted calls.
        assert execution.price_source == "trace"
        assert int(execution.cost_micro_usd) == sum(int(call.cost_micro_usd) for call in calls)
        assert execution.cost_micro_usd > 0 or not any(call.price_source != "none" for call in calls)
        for name in ("tokens_in", "tokens_out", *traces.TOKEN_KINDS):
            assert int(getattr(execution, name) or 0) == sum(int(getattr(call, name) or 0) for call in calls)
        assert int(execution.tokens_cache_read or 0) <= int(execution.tokens_in)
        assert execution.duration_ms == view.steps[0].duration_ms
    assert kinds_seen == {"agent", "model", "tool"}
    # Traced runs carry the dimensions too (issue #28): an environment and tags, and every run a
    # conversation the session page finds.
    assert [e.execution_id for e in traced if not (e.environment and e.tags)] == []
    assert all(e.session_id and e.session_key == f"{e.tenant_id}#{e.session_id}" for e in executions)
    failed = [e for e in traced if e.status == "failed"]
    assert all(queries.execution_steps(e).failing_step is not None for e in failed)


def test_a_seeded_trace_sent_again_changes_nothing(people, tenant):
    executions = _seeded(people, tenant, 60, seed=6)
    before = stored_rollups(tenant.tenant_id)
    traced = [e for e in executions if queries.EXECUTION_ID.match(e.execution_id)][:5]
    for execution in traced:
        trace_id, _ = queries.EXECUTION_ID.match(execution.execution_id).groups()
        state = queries.read_trace(tenant.tenant_id, trace_id, consistent=True)
        result = Acceptance("span")
        traces.reconcile(tenant.tenant_id, trace_id, state, set(state.spans), result)
        assert not result.rejected
    after = {e.execution_id: e for e in raw_executions(tenant.tenant_id)}
    for execution in traced:
        again = after[execution.execution_id]
        assert (again.cost_micro_usd, again.tokens_in, again.tokens_out) == (
            execution.cost_micro_usd,
            execution.tokens_in,
            execution.tokens_out,
        )
    assert stored_rollups(tenant.tenant_id) == before == recomputed_rollups(tenant.tenant_id)


def test_seeded_inputs_and_outputs_read_like_prompts_and_answers(people, tenant):
    executions = _seeded(people, tenant, 120, seed=8)
    for execution in executions:
        assert 10 < len(execution.input) < 400 and "Context line." not in execution.input
        if execution.status == "succeeded":
            assert 10 < len(execution.output) < 400 and "result result" not in execution.output
    assert len({execution.input for execution in executions}) >= 8


class _Bar:
    """What the seed's progress bar was told, in place of tqdm."""

    def __init__(self, iterable, total):
        self.iterable, self.total, self.n = iterable, total, 0

    def __iter__(self):
        for item in self.iterable:
            self.n += 1
            yield item

    def update(self, n=1):
        self.n += n

    def set_postfix_str(self, *args, **kwargs):
        pass

    def close(self):
        pass


def test_the_executions_bar_counts_what_is_written_not_what_is_generated(people, tenant, monkeypatch):
    bars: list[_Bar] = []
    written = [0]
    shown_ahead = []
    real = services.import_chunk

    def import_chunk(executions):
        shown_ahead.append(bars[-1].n - written[0])  # what the bar says beyond what has landed
        stats = real(executions)
        written[0] += len(executions)
        return stats

    class Recording(SeedContext):
        def progress(self, iterable, description, total=None, unit="item"):
            bars.append(_Bar(iterable, total))
            return bars[-1]

    monkeypatch.setattr(services, "import_chunk", import_chunk)
    monkeypatch.setattr(demo, "CHUNK", 100, raising=False)
    monkeypatch.setattr(demo, "WRITERS", 1)
    ctx = Recording(rng=random.Random(2), now=clock.now(), options={"executions": 300}, quiet=True)
    ctx.tenants = [Tenant.get(tenant.tenant_id)]
    ctx.admins = {tenant.tenant_id: [tenant.admin]}
    demo.seed(ctx)
    assert shown_ahead and max(shown_ahead) <= 0
    assert bars[0].n == bars[0].total == 300
