"""What of a tenant analytics keeps, for staff's export and erase (dashboard.operations.erasure).

Executions and spans carry `tenant_id`; counters, cached pages and digests carry the tenant at the
start of their key (`tenant#…`, rollup guards and batch markers too; an environment's sub-scope
`tenant@environment#…`, rollups.scope_id); the tenant's contract prices
and re-pricing items name it as their `scope` (and its re-pricing days as `day#tenant#…`).
"""

from __future__ import annotations

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


def tenant_tables() -> list[TenantTable]:
    return [
        TenantTable("executions", Execution, lambda t: Execution.tenant_id == t),
        TenantTable(
            "execution-rollups",
            ExecutionRollup,
            lambda t: ExecutionRollup.pk.startswith(f"{t}#") | ExecutionRollup.pk.startswith(f"{t}@"),
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
