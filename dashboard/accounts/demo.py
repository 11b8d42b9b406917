"""Demo tenants and people. Everyone's password is DEMO_PASSWORD."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.contrib.auth.hashers import make_password

from dashboard.accounts.models import Invitation, Tenant, User
from dashboard.core.seeding import DEMO_PASSWORD, SeedContext

TENANTS = [
    ("acme", "Acme Robotics", "enterprise", 2_500_000_000),
    ("globex", "Globex Analytics", "team", 800_000_000),
    ("initech", "Initech Labs", "starter", 150_000_000),
]
ADMIN_NAMES = {
    "acme": ["Ada Lovelace", "Alan Turing"],
    "globex": ["Grace Hopper", "Ken Thompson"],
    "initech": ["Barbara Liskov"],
}


def demo_logins() -> list[tuple[str, str, str]]:
    logins = [
        ("staff", "all tenants", "staff@diatonic.test"),
        ("moderator", "all tenants", "moderator@diatonic.test"),
    ]
    for tenant_id, names in ADMIN_NAMES.items():
        logins += [
            ("tenant_admin", tenant_id, f"{name.split()[0].lower()}@{tenant_id}.test") for name in names
        ]
    return logins


def _user(ctx: SeedContext, password: str, email: str, name: str, role: str, tenant_id: str | None) -> User:
    slug = email.split("@")[0].replace(".", "-")
    return User(
        user_id=f"usr_{tenant_id or 'diatonic'}_{slug}",
        email=email,
        name=name,
        role=role,
        tenant_id=tenant_id,
        password=password,
        created_at=ctx.now,
    )


# The metadata keys every demo tenant counts as overview dimensions: analytics.demo gives each
# execution a `region` (issue #28 §2), so `make run` shows top regions and the region filter.
DEMO_METADATA_DIMENSIONS = ("region",)


def seed(ctx: SeedContext) -> None:
    password = make_password(DEMO_PASSWORD)  # hashed once: PBKDF2 is slow on purpose
    tenants = [
        Tenant(
            tenant_id=tid,
            name=name,
            plan=plan,
            monthly_budget_micro_usd=budget,
            metadata_dimensions=list(DEMO_METADATA_DIMENSIONS),
            created_at=ctx.now,
        )
        for tid, name, plan, budget in TENANTS
    ]
    users = [
        _user(ctx, password, "staff@diatonic.test", "Sam Staff", "staff", None),
        _user(ctx, password, "moderator@diatonic.test", "Mo Moderator", "moderator", None),
    ]
    for tenant in tenants:
        for name in ADMIN_NAMES[tenant.tenant_id]:
            email = f"{name.split()[0].lower()}@{tenant.tenant_id}.test"
            users.append(_user(ctx, password, email, name, "tenant_admin", tenant.tenant_id))
    ctx.write(Tenant, tenants)
    ctx.write(User, users)
    ctx.write(Invitation, [_pending_invitation(ctx)])
    ctx.tenants = tenants
    for user in users:
        if user.role == "staff":
            ctx.staff.append(user)
        elif user.role == "moderator":
            ctx.moderators.append(user)
        else:
            ctx.admins.setdefault(user.tenant_id, []).append(user)
        ctx.logins.append((user.role, user.tenant_id or "all tenants", user.email))


DEMO_INVITATION_PATH = "/invite/inv_demo_acme/demo-invitation-secret/"


def _pending_invitation(ctx: SeedContext) -> Invitation:
    """Ada of acme invited a colleague; the demo's link is DEMO_INVITATION_PATH (printed by seed_demo)."""
    expires = ctx.now + timedelta(days=7)
    return Invitation(
        invitation_id="inv_demo_acme",
        secret_hash=hashlib.sha256(b"demo-invitation-secret").hexdigest(),
        email="colleague@acme.test",
        role="tenant_admin",
        tenant_id="acme",
        owner="acme",
        invited_by="usr_acme_ada",
        invited_by_label="ada@acme.test",
        created_at=ctx.now,
        expires_at=expires,
        purge_at=expires + timedelta(days=30),
        pending="pending",
    )
