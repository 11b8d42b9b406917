"""What of a tenant accounts keeps, for staff's export and erase (dashboard.operations.erasure).

Sessions and passkeys name their user only, so they are told apart through the tenant's users; these kinds come
last in the registry (the other areas find the tenant's users while they still exist), and the
tenant's own item is the very last. Sign-in counters (`login:…` buckets) name an email or address,
not a tenant, and go by themselves within their window (TTL).
"""

from __future__ import annotations

from collections.abc import Callable

from dashboard.accounts.models import Invitation, Passkey, SessionItem, Tenant, User
from dashboard.dynamo.erase import TenantTable


def user_ids_of_tenant(tenant_id: str) -> set[str]:
    """Every user of the tenant (one query of the tenant index, paged)."""
    return {user.user_id for user in User.by_tenant.query(tenant_id)}


def _owned_by_tenant_users(tenant_id: str) -> Callable[[dict], bool]:
    users = user_ids_of_tenant(tenant_id)
    return lambda raw: raw.get("user_id", {}).get("S") in users


def tenant_tables() -> list[TenantTable]:
    return [
        TenantTable("sessions", SessionItem, lambda t: SessionItem.user_id.exists(), _owned_by_tenant_users),
        TenantTable("passkeys", Passkey, lambda t: Passkey.user_id.exists(), _owned_by_tenant_users),
        TenantTable(
            "invitations", Invitation, lambda t: (Invitation.tenant_id == t) | (Invitation.owner == t)
        ),
        TenantTable("users", User, lambda t: User.tenant_id == t),
        TenantTable("tenants", Tenant, lambda t: Tenant.tenant_id == t),
    ]
