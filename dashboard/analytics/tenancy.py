"""Which tenant an analytics page or call reads: the one place that decides it."""

from __future__ import annotations

import re

from dashboard.accounts.scope import API, STAFF, TENANT_ADMIN, AccessScope
from dashboard.accounts.services import get_tenant
from dashboard.core.errors import NotFound

ANALYTICS_ROLES = (STAFF, TENANT_ADMIN)
TENANT_ID = re.compile(r"[a-z0-9][a-z0-9-]{1,39}")


def resolve_tenant(scope: AccessScope, requested: str | None = None) -> str | None:
    """The tenant to read, or None for staff looking at every tenant.

    A tenant admin (or an API key) always reads its own tenant; naming another one is answered as
    not found. Staff read the tenant they name, else the switcher's focus, else all tenants.
    """
    scope.require_role(STAFF, TENANT_ADMIN, API)
    if requested and not TENANT_ID.fullmatch(requested):
        raise NotFound("That tenant was not found.")
    if scope.is_staff:
        if requested:
            get_tenant(requested)  # NotFound for an unknown tenant
            return requested
        return scope.tenant_id
    if requested:
        scope.check_tenant(requested, "That tenant")
    return scope.require_tenant()
