"""The demo seed: believable executions whose rollups equal the history, and budgets in three states."""

from __future__ import annotations

import random

from dashboard.accounts.models import Tenant
from dashboard.analytics import demo, services
from dashboard.analytics.models import ExecutionRollup
from dashboard.analytics.queries import budget_status
from dashboard.core import clock
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
