"""Demo alert rules: each demo tenant watches its monthly budget (50/80/100 %) and mails its admin."""

from __future__ import annotations

from dashboard.alerts import services
from dashboard.alerts.inputs import DEFAULT_THRESHOLDS, RuleInput
from dashboard.alerts.models import AlertChannel
from dashboard.core import clock
from dashboard.core.scope import STAFF, AccessScope
from dashboard.core.seeding import SeedContext


def seed(ctx: SeedContext) -> None:
    if not ctx.staff:
        return
    with ctx.step(f"alert rules of {len(ctx.tenants)} tenants (monthly budget 50/80/100 %, e-mail)"):
        _rules(ctx, ctx.staff[0])


def _rules(ctx: SeedContext, staff) -> None:
    for tenant in ctx.tenants:
        scope = AccessScope(STAFF, staff.user_id, staff.email, tenant.tenant_id)
        services.create_rule(
            scope,
            tenant.tenant_id,
            RuleInput(name="Monthly budget", kind="budget", thresholds=DEFAULT_THRESHOLDS),
        )
        admins = ctx.admins.get(tenant.tenant_id, [])
        if admins:  # the demo's admins confirmed their address long ago: no mail while seeding
            AlertChannel(
                tenant_id=tenant.tenant_id,
                email=admins[0].email,
                email_confirmed_at=clock.iso_ms(clock.now()),
            ).save()
