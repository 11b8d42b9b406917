"""What of a tenant operations keeps, for staff's export and erase (dashboard.operations.erasure): the
tenant's cost to serve (rows `tenants#YYYY-MM` / tenant id)."""

from __future__ import annotations

from dashboard.dynamo.erase import TenantTable
from dashboard.operations.models import TENANTS_PREFIX, DynamoUsage


def tenant_tables() -> list[TenantTable]:
    return [
        TenantTable(
            "dynamo-usage",
            DynamoUsage,
            lambda t: DynamoUsage.month.startswith(TENANTS_PREFIX) & (DynamoUsage.sk == t),
        )
    ]
