"""What of a tenant the registry keeps, for staff's export and erase (dashboard.operations.erasure):
every item carries `tenant_id`."""

from __future__ import annotations

from dashboard.dynamo.erase import TenantTable
from dashboard.registry.models import ChangeRequest, Dataset, MlModel, RegistryPolicy, RegistryVersion


def tenant_tables() -> list[TenantTable]:
    return [
        TenantTable("datasets", Dataset, lambda t: Dataset.tenant_id == t),
        TenantTable("registry-versions", RegistryVersion, lambda t: RegistryVersion.tenant_id == t),
        TenantTable("models", MlModel, lambda t: MlModel.tenant_id == t),
        TenantTable("registry-policies", RegistryPolicy, lambda t: RegistryPolicy.tenant_id == t),
        TenantTable("change-requests", ChangeRequest, lambda t: ChangeRequest.tenant_id == t),
    ]
