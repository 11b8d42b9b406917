"""What analytics tells the areas above it, without knowing them: Django signals they subscribe to.

`executions_recorded(tenant_id)`: executions or their costs were added to a tenant's figures (an API
batch, an OTLP trace export, a bulk import). Alerts subscribes (`AlertsConfig.ready`) and checks the
tenant's rules at once, whichever way the figures arrived.
"""

from __future__ import annotations

from django.dispatch import Signal

executions_recorded = Signal()  # keyword: tenant_id


def recorded(tenant_id: str) -> None:
    executions_recorded.send(sender=None, tenant_id=tenant_id)
