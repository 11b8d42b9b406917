"""Home page over the seeded demo data: latency and DynamoDB calls per request, by role."""

import random

from dashboard.accounts import seed as account_seed
from dashboard.dynamo import clock
from dashboard.dynamo.seeding import SeedContext
from dashboard.flows import seed as flow_seed


def run(bench) -> None:
    ctx = SeedContext(rng=random.Random(7), now=clock.now(), options={}, quiet=True)
    account_seed.seed(ctx)
    flow_seed.seed(ctx)
    admin = ctx.admins["acme"][0]
    bench.measure("home · tenant admin", bench.client_for(admin), "/")
    bench.measure("home · staff, all tenants", bench.client_for(ctx.staff[0]), "/")
    bench.measure("home · staff, one tenant", bench.client_for(ctx.staff[0], _tenant_focus="acme"), "/")
    bench.measure("home · moderator", bench.client_for(ctx.moderators[0]), "/")
