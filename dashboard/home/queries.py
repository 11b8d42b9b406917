"""The home page's short overview of each area: one bounded query each, through the areas' own reads.

DynamoDB calls: staff on one tenant 10 (tenants, queue, projects, flows, experiments, model versions,
templates, audit, last week's totals), a tenant admin 8, staff on all tenants 3, a moderator 1. The
activity card hides sign-ins, a filter: when a trail holds little else its read may take up to
audit.MAX_CALLS (4) queries instead of 1, so at most 13, 11 and 6.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from dashboard.accounts.queries import list_tenants
from dashboard.analytics import queries, rollups
from dashboard.audit import queries as audit
from dashboard.core import clock
from dashboard.core.scope import AccessScope, Can
from dashboard.experiments import queries as experiments
from dashboard.flows import queries as flows
from dashboard.marketplace import queries as marketplace
from dashboard.registry import queries as registry

CARD_SIZE = 5
QUEUE_PEEK = 100


@dataclass
class HomeFigures:
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
    week_start: date | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def overview(scope: AccessScope) -> HomeFigures:
    result = HomeFigures()
    if scope.is_staff:
        result.tenants = list_tenants()
    if scope.can(Can.MODERATE):
        queue = marketplace.moderation_queue(scope, limit=QUEUE_PEEK)
        result.queue = queue.items[:CARD_SIZE]
        result.queue_more = queue.next_cursor is not None
        result.extra["queue_size"] = len(queue.items)
    if scope.can(Can.TENANT_PAGES):
        if scope.tenant_id:
            result.projects = flows.list_projects(scope, limit=CARD_SIZE).items
            result.flows = flows.list_flows(scope, limit=CARD_SIZE).items
            result.experiments = experiments.latest_experiments(scope, CARD_SIZE)
            result.models = registry.latest_versions(scope, CARD_SIZE)
            result.templates = marketplace.tenant_templates(scope, CARD_SIZE)
            result.week = last_week(scope.tenant_id)
            result.week_start = clock.now().date() - timedelta(days=6)
        result.events = audit.list_events(scope, limit=CARD_SIZE, filters=audit.AuditFilters()).items
    return result


def last_week(tenant_id: str) -> rollups.Totals:
    """One query on the tenant's daily totals (rollups), whatever the number of executions."""
    today = clock.now().date()
    totals = rollups.Totals()
    for row in queries.daily(tenant_id, "total", today - timedelta(days=6), today).values():
        totals.merge(row)
    return totals
