"""The home page's short overview of each area, a few bounded queries each."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from dashboard.accounts.models import AuditEvent
from dashboard.accounts.scope import AccessScope
from dashboard.accounts.services import list_tenants
from dashboard.analytics import queries, rollups
from dashboard.core import clock
from dashboard.flows.models import Flow, Project
from dashboard.logs.models import Experiment
from dashboard.marketplace.models import AgentTemplate
from dashboard.registry.models import RegistryVersion

CARD_SIZE = 5
QUEUE_PEEK = 100


@dataclass
class Overview:
    tenants: list = field(default_factory=list)
    projects: list = field(default_factory=list)
    flows: list = field(default_factory=list)
    experiments: list = field(default_factory=list)
    models: list = field(default_factory=list)
    templates: list = field(default_factory=list)
    queue: list = field(default_factory=list)
    queue_more: bool = False
    events: list = field(default_factory=list)
    week: rollups.Totals | None = None  # the tenant's executions of the last 7 days
    extra: dict[str, Any] = field(default_factory=dict)


def _latest(index, tenant_id: str) -> list:
    return list(index.query(tenant_id, scan_index_forward=False, limit=CARD_SIZE))


def overview(scope: AccessScope) -> Overview:
    result = Overview()
    if scope.is_staff:
        result.tenants = list_tenants()
    if scope.role in ("staff", "moderator"):
        queue = list(AgentTemplate.moderation_queue.query("pending", limit=QUEUE_PEEK + 1))
        result.queue = queue[:CARD_SIZE]
        result.queue_more = len(queue) > QUEUE_PEEK
        result.extra["queue_size"] = min(len(queue), QUEUE_PEEK)
    if scope.role in ("staff", "tenant_admin"):
        if scope.tenant_id:
            tenant_id = scope.tenant_id
            result.projects = _latest(Project.by_tenant, tenant_id)
            result.flows = _latest(Flow.by_tenant, tenant_id)
            result.experiments = _latest(Experiment.by_tenant, tenant_id)
            result.models = _latest(RegistryVersion.by_tenant, tenant_id)
            result.templates = _latest(AgentTemplate.by_tenant, tenant_id)
            result.events = list(AuditEvent.query(tenant_id, scan_index_forward=False, limit=CARD_SIZE))
            result.week = last_week(tenant_id)
        else:
            month = clock.now().strftime("%Y-%m")
            result.events = list(AuditEvent.by_month.query(month, scan_index_forward=False, limit=CARD_SIZE))
    return result


def last_week(tenant_id: str) -> rollups.Totals:
    """One query on the tenant's daily totals (rollups), whatever the number of executions."""
    today = clock.now().date()
    totals = rollups.Totals()
    for row in queries.daily(tenant_id, "total", today - timedelta(days=6), today).values():
        totals.merge(row)
    return totals
