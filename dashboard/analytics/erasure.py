"""What of a tenant analytics keeps, for staff's export and erase (dashboard.operations.erasure).

Executions and spans carry `tenant_id`; counters, cached pages and digests carry the tenant at the
start of their key (`tenant#…`, rollup guards and batch markers too; an environment's sub-scope
`tenant@environment#…`, rollups.scope_id); the tenant's contract prices and re-pricing items name it
as their `scope` (and its re-pricing days as `day#tenant#…`).

The platform-wide figures of marketplace templates (dashboard.analytics.template_costs) are about
templates, not tenants: the figures of the tenant's own templates go with them (found through the
marketplace, before its templates are erased: analytics comes first in the erase's order); the runs
it made of other tenants' templates stay in those templates' figures, as counts beside a keyed hash
that does not name it (`template_costs.tenant_mark`), like every other tenant's.
"""

from __future__ import annotations

from collections.abc import Callable

from dashboard.analytics import template_costs
from dashboard.analytics.models import (
    Execution,
    ExecutionRollup,
    ModelPrice,
    PriceChange,
    RollupDigest,
    TopPage,
    TraceItem,
)
from dashboard.dynamo.erase import TenantTable
from dashboard.marketplace.queries import template_ids_of_tenant


def _its_rollups(tenant_id: str) -> Callable[[dict], bool]:
    """Its own rollups, and the platform-wide figures of its templates (one scan of the largest table
    finds both: the filter lets every template figure through, this keeps its templates' ones)."""
    templates = template_ids_of_tenant(tenant_id)
    own = (f"{tenant_id}#", f"{tenant_id}@")

    def keep(raw: dict) -> bool:
        pk = raw["pk"]["S"]
        return pk.startswith(own) or template_costs.template_of_row(raw["sk"]["S"]) in templates

    return keep


def tenant_tables() -> list[TenantTable]:
    return [
        TenantTable("executions", Execution, lambda t: Execution.tenant_id == t),
        TenantTable(
            "execution-rollups",
            ExecutionRollup,
            lambda t: (
                ExecutionRollup.pk.startswith(f"{t}#")
                | ExecutionRollup.pk.startswith(f"{t}@")
                | ExecutionRollup.pk.startswith(template_costs.DAY_PREFIX)
                | (ExecutionRollup.pk == template_costs.SUMMARY_PK)
            ),
            _its_rollups,
        ),
        TenantTable(
            "rollup-top-pages",
            TopPage,
            lambda t: TopPage.pk.startswith(f"{t}#") | TopPage.pk.startswith(f"{t}@"),
        ),
        TenantTable(
            "rollup-digests",
            RollupDigest,
            lambda t: RollupDigest.pk.startswith(f"{t}#") | RollupDigest.pk.startswith(f"{t}@"),
        ),
        TenantTable("trace-spans", TraceItem, lambda t: TraceItem.tenant_id == t),
        TenantTable("model-prices", ModelPrice, lambda t: ModelPrice.scope == t),
        TenantTable(
            "price-changes",
            PriceChange,
            lambda t: (PriceChange.scope == t) | PriceChange.book.startswith(PriceChange.day_book(t, "")),
        ),
    ]
