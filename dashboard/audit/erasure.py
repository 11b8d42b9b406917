"""What of a tenant the audit trail keeps, for staff's export and erase (dashboard.operations.erasure):
the tenant's partition. The platform's partition stays, and with it the record of the erase itself."""

from __future__ import annotations

from dashboard.audit.models import AuditEvent
from dashboard.audit.services import PLATFORM
from dashboard.dynamo.erase import TenantTable


def tenant_tables() -> list[TenantTable]:
    return [
        TenantTable(
            "audit-events",
            AuditEvent,
            lambda t: (AuditEvent.tenant_id == t) & (AuditEvent.tenant_id != PLATFORM),
        )
    ]
