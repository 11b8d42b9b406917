"""Home page over the demo data set of every area: latency and DynamoDB calls per request, by role."""

import random

from dashboard.core import clock
from dashboard.core.seeding import SeedContext
from dashboard.demo.management.commands.seed_demo import seed_areas

OPTIONS = {"executions": 5_000, "templates": 60, "models": 8, "log_lines": 500, "seed": 7}


def run(bench) -> None:
    ctx = SeedContext(rng=random.Random(7), now=clock.now(), options=OPTIONS, quiet=True)
    seed_areas(ctx)
    admin = ctx.admins["acme"][0]
    staff = ctx.staff[0]
    bench.measure("home · tenant admin", bench.client_for(admin), "/")
    bench.measure("home · staff, all tenants", bench.client_for(staff), "/")
    bench.measure("home · staff, one tenant", bench.client_for(staff, _tenant_focus="acme"), "/")
    bench.measure("home · moderator", bench.client_for(ctx.moderators[0]), "/")
