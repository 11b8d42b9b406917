"""The access scope: who is asking and which tenant's data they may touch.

Every service takes a scope. A tenant admin is pinned to their tenant; staff act on the tenant
chosen in the switcher (or all tenants); a moderator reaches the public catalogue only; an API key
acts for its tenant.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from dashboard.core.errors import NotFound, PermissionDenied

STAFF = "staff"
TENANT_ADMIN = "tenant_admin"
MODERATOR = "moderator"
API = "api"
PRICES_KEY = "prices_key"  # a platform API key that manages model prices and nothing else
ROLE_LABELS = {
    STAFF: "Staff",
    TENANT_ADMIN: "Tenant admin",
    MODERATOR: "Moderator",
    API: "API key",
    PRICES_KEY: "Prices key",
}
PEOPLE_ROLES = (STAFF, TENANT_ADMIN, MODERATOR)  # roles a person (not a key) can hold


class Can(StrEnum):
    """What a scope may do. Navigation, view decorators and services all ask this one table."""

    SIGN_IN = "sign in to the dashboard"
    TENANT_PAGES = "open a tenant's pages: costs, flows, models, experiments, audit"
    TENANT_DATA = "read and change a tenant's data, through pages or the API"
    RECORD = "record executions and telemetry through the API"
    MODERATE = "moderate the public template catalogue"
    RATE = "rate templates"
    RUN_PLATFORM = "run the platform: people, API keys, tables, operations"
    MANAGE_PRICES = "set model prices over the catalogue and re-price the past"


CAPABILITIES: dict[Can, frozenset[str]] = {
    Can.SIGN_IN: frozenset(PEOPLE_ROLES),
    Can.TENANT_PAGES: frozenset({STAFF, TENANT_ADMIN}),
    Can.TENANT_DATA: frozenset({STAFF, TENANT_ADMIN, API}),
    Can.RECORD: frozenset({API}),
    Can.MODERATE: frozenset({STAFF, MODERATOR}),
    Can.RATE: frozenset({STAFF, TENANT_ADMIN}),
    Can.RUN_PLATFORM: frozenset({STAFF}),
    Can.MANAGE_PRICES: frozenset({STAFF, PRICES_KEY}),
}


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
        return self.can(Can.TENANT_DATA)

    def can(self, capability: Can) -> bool:
        return self.role in CAPABILITIES[capability]

    def require(self, capability: Can) -> None:
        if not self.can(capability):
            raise PermissionDenied("Your role does not allow this.")

    def reading_tenant(self, requested: str | None = None) -> str | None:
        """The tenant a page or call reads: a tenant admin or key always its own (naming another is
        answered as not found); staff the tenant named, else the switcher's, else None (all)."""
        if self.is_staff:
            return requested or self.tenant_id
        if requested:
            self.check_tenant(requested, "That tenant")
        return self.require_tenant()

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
