"""What of a tenant alerts keeps, for staff's export and erase (dashboard.operations.erasure): every
item is in the tenant's partition (`tenant_id`)."""

from __future__ import annotations

from dashboard.alerts.models import (
    AlertChannel,
    AlertFiring,
    AlertRule,
    AlertState,
    BudgetRequest,
    Notification,
)
from dashboard.dynamo.erase import TenantTable


def tenant_tables() -> list[TenantTable]:
    return [
        TenantTable("alert-rules", AlertRule, lambda t: AlertRule.tenant_id == t),
        TenantTable("alert-channels", AlertChannel, lambda t: AlertChannel.tenant_id == t),
        TenantTable("alert-states", AlertState, lambda t: AlertState.tenant_id == t),
        TenantTable("alert-firings", AlertFiring, lambda t: AlertFiring.tenant_id == t),
        TenantTable("notifications", Notification, lambda t: Notification.tenant_id == t),
        TenantTable("budget-requests", BudgetRequest, lambda t: BudgetRequest.tenant_id == t),
    ]
