"""The access scope: who is asking and which tenant's data they may touch.

Every service takes a scope. A tenant admin is pinned to their tenant; staff act on the tenant
chosen in the switcher (or all tenants); a moderator reaches the public catalogue only; an API key
acts for its tenant.
"""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.core.errors import NotFound, PermissionDenied

STAFF = "staff"
TENANT_ADMIN = "tenant_admin"
MODERATOR = "moderator"
API = "api"
ROLE_LABELS = {STAFF: "Staff", TENANT_ADMIN: "Tenant admin", MODERATOR: "Moderator", API: "API key"}


@dataclass(frozen=True)
class AccessScope:
    role: str
    actor_id: str  # user id, or api key id
    actor_label: str  # email, or "API key <name>"
    tenant_id: str | None  # the tenant acted on; None = all tenants (staff) or none (moderator)

    @property
    def is_staff(self) -> bool:
        return self.role == STAFF

    @property
    def is_moderator(self) -> bool:
        return self.role == MODERATOR

    @property
    def is_api(self) -> bool:
        return self.role == API

    @property
    def sees_all_tenants(self) -> bool:
        return self.is_staff and self.tenant_id is None

    @property
    def sees_costs(self) -> bool:
        return self.role in (STAFF, TENANT_ADMIN, API)

    def can_read_tenant(self, tenant_id: str | None) -> bool:
        if self.is_staff:
            return True  # the switcher narrows lists; staff may open any tenant's item
        return self.tenant_id is not None and self.tenant_id == tenant_id

    def check_tenant(self, tenant_id: str | None, what: str = "That item") -> None:
        """Another tenant's item is reported as missing, never as forbidden: ids do not leak."""
        if not self.can_read_tenant(tenant_id):
            raise NotFound(f"{what} was not found.")

    def require_tenant(self) -> str:
        """The single tenant an action writes to; staff must pick one in the switcher first."""
        if self.tenant_id is None:
            raise PermissionDenied(
                "Choose a tenant in the switcher first: this action belongs to one tenant."
            )
        return self.tenant_id

    def require_role(self, *roles: str) -> None:
        if self.role not in roles:
            raise PermissionDenied("Your role does not allow this.")
