"""The demo seed of the flows area: deterministic, and showing every configuration status."""

import random
from datetime import UTC, datetime
from types import SimpleNamespace

from dashboard.accounts.access import scope_for_user
from dashboard.core.seeding import SeedContext
from dashboard.flows import demo as seed
from dashboard.flows.queries import list_nodes
from tests.conftest import unique


def _seeded(tenant_id: str) -> SeedContext:
    ctx = SeedContext(rng=random.Random(11), now=datetime(2026, 1, 1, tzinfo=UTC), options={}, quiet=True)
    ctx.tenants = [SimpleNamespace(tenant_id=tenant_id, name="Seed tenant")]
    ctx.admins = {tenant_id: [SimpleNamespace(user_id="usr_seed", email="seed@seed.test")]}
    seed.seed(ctx)
    return ctx


def test_the_seed_shows_valid_invalid_and_default_nodes(people):
    tenant_id = unique("seed").replace("_", "-")
    ctx = _seeded(tenant_id)
    staff = scope_for_user(people["staff"], tenant_id)
    statuses = [state.status for flow in ctx.flows[tenant_id] for state in list_nodes(staff, flow)]
    assert {"valid", "invalid", "default"} <= set(statuses)
    assert statuses.count("valid") > statuses.count("invalid")


def test_the_seed_is_deterministic():
    first = [seed.node_config(kind, random.Random(5)) for kind in seed.CONFIGS]
    second = [seed.node_config(kind, random.Random(5)) for kind in seed.CONFIGS]
    assert first == second
