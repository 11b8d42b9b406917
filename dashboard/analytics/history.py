"""Execution history: newest first, filtered, one bounded page at a time; and one execution's detail.

The query picks the narrowest key for the filters (agent → the table's own key; status → the
tenant#status index; user → the user index; otherwise the tenant index). Filters the key cannot
express, and the TTL (DynamoDB deletes expired items late, so reads hide them), are applied by
DynamoDB as filter expressions. A page reads at most MAX_CALLS DynamoDB pages: when the filters
match rarely it may show fewer rows, with a link to go on from where it stopped.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import date
from functools import partial

from dashboard.accounts.scope import AccessScope
from dashboard.analytics import services
from dashboard.analytics.inputs import resolve_tenant
from dashboard.analytics.models import Execution, scoped_key
from dashboard.core import clock
from dashboard.core.clock import day_end, day_start
from dashboard.core.errors import NotFound
from dashboard.dynamo.paging import Page, bounded_page

PAGE_SIZE = 25
MAX_CALLS = 4
FILTERED_READ = 100  # items DynamoDB evaluates per call when a filter may drop many


@dataclass(frozen=True)
class ExecutionFilters:
    agent_id: str | None = None
    status: str | None = None
    user_id: str | None = None
    model: str | None = None
    start: date | None = None
    end: date | None = None

    def fingerprint(self) -> str:
        return hashlib.sha256(repr(sorted(asdict(self).items())).encode()).hexdigest()[:16]


def _range(attribute, filters: ExecutionFilters):
    low = day_start(filters.start) if filters.start else None
    high = day_end(filters.end) if filters.end else None
    if low and high:
        return attribute.between(low, high)
    if low:
        return attribute >= low
    if high:
        return attribute <= high
    return None


def _and(conditions):
    combined = None
    for condition in conditions:
        combined = condition if combined is None else combined & condition
    return combined


def _query(tenant_id: str, filters: ExecutionFilters):
    """(bound query, whether it has filters beyond the TTL) for the narrowest key."""
    now = clock.now()
    extra = []
    if filters.agent_id:
        key = partial(Execution.query, scoped_key(tenant_id, filters.agent_id), _range(Execution.sk, filters))
        if filters.status:
            extra.append(Execution.status == filters.status)
        if filters.user_id:
            extra.append(Execution.user_id == filters.user_id)
    elif filters.status:
        key = partial(
            Execution.by_tenant_status.query,
            f"{tenant_id}#{filters.status}",
            _range(Execution.started_at, filters),
        )
        if filters.user_id:
            extra.append(Execution.user_id == filters.user_id)
    elif filters.user_id:
        key = partial(
            Execution.by_user.query,
            scoped_key(tenant_id, filters.user_id),
            _range(Execution.started_at, filters),
        )
    else:
        key = partial(Execution.by_tenant.query, tenant_id, _range(Execution.started_at, filters))
    if filters.model:
        extra.append(Execution.model == filters.model)
    selective = bool(extra)
    condition = _and([Execution.expires_at > now, *extra])
    return partial(key, scan_index_forward=False, filter_condition=condition), selective


def list_executions(
    scope: AccessScope,
    filters: ExecutionFilters,
    *,
    tenant_id: str | None = None,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
) -> Page[Execution]:
    tenant_id = resolve_tenant(scope, tenant_id)
    if tenant_id is None:
        tenant_id = scope.require_tenant()
    if filters.agent_id:
        services.check_agent_id(filters.agent_id)
    query, selective = _query(tenant_id, filters)
    return bounded_page(
        query,
        Execution,
        max_calls=MAX_CALLS,
        purpose=f"executions:{tenant_id}:{filters.fingerprint()}",
        limit=limit,
        cursor=cursor,
        page_size=max(limit, FILTERED_READ) if selective else limit,
    )


def get_execution(scope: AccessScope, execution_id: str, tenant_id: str | None = None) -> Execution:
    """One execution of the reader's tenant (staff: of the tenant named or focused); one query."""
    tenant_id = resolve_tenant(scope, tenant_id) or scope.require_tenant()
    if not services.is_valid_id(execution_id):
        raise NotFound("That execution was not found.")
    now = clock.now()
    for execution in Execution.by_execution_id.query(scoped_key(tenant_id, execution_id), limit=5):
        if execution.expires_at > now:
            return execution
    raise NotFound("That execution was not found (executions are kept for 180 days).")


def recent_errors(tenant_id: str, limit: int = 50) -> list[str]:
    """The error messages of the tenant's latest failed executions (one query on the status index)."""
    failed = Execution.by_tenant_status.query(f"{tenant_id}#failed", scan_index_forward=False, limit=limit)
    return [execution.error or "(no message)" for execution in failed]
