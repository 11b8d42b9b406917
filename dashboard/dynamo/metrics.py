"""Counts DynamoDB calls and consumed capacity per request, through botocore event hooks.

DynamoDB reports consumed units only when asked (`ReturnConsumedCapacity`), so while a block is
tracked with capacity on (the response headers, a benchmark) every call that accepts the parameter
asks for TOTAL; otherwise nothing is added to the calls.
"""

from __future__ import annotations

import contextvars
import threading
import weakref
from dataclasses import dataclass, field


@dataclass
class CallStats:
    want_capacity: bool = False
    calls: int = 0
    capacity: float = 0.0
    operations: dict[str, int] = field(default_factory=dict)
    # A request may read from a few threads at once (analytics): the counts stay exact.
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, operation: str, capacity: float) -> None:
        with self.lock:
            self.calls += 1
            self.capacity += capacity
            self.operations[operation] = self.operations.get(operation, 0) + 1


_current: contextvars.ContextVar[CallStats | None] = contextvars.ContextVar("dynamo_call_stats", default=None)
_instrumented: weakref.WeakSet = weakref.WeakSet()


def _consumed(parsed: dict) -> float:
    consumed = parsed.get("ConsumedCapacity")
    if isinstance(consumed, dict):
        consumed = [consumed]
    return sum(float(item.get("CapacityUnits", 0) or 0) for item in consumed or [])


def _after_call(http_response=None, parsed=None, model=None, **kwargs) -> None:
    stats = _current.get()
    if stats is not None and model is not None:
        stats.add(model.name, _consumed(parsed or {}))


# The operations that accept ReturnConsumedCapacity (the others refuse an unknown parameter).
CAPACITY_OPERATIONS = frozenset(
    {
        "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem",
        "BatchWriteItem", "TransactGetItems", "TransactWriteItems", "ExecuteStatement",
        "BatchExecuteStatement", "ExecuteTransaction",
    }
)  # fmt: skip


def _before_call(params=None, model=None, **kwargs) -> None:
    stats = _current.get()
    if stats is None or not stats.want_capacity or model is None or params is None:
        return
    if model.name in CAPACITY_OPERATIONS:
        params.setdefault("ReturnConsumedCapacity", "TOTAL")


def instrument(client) -> None:
    if client not in _instrumented:
        client.meta.events.register("provide-client-params.dynamodb", _before_call)
        client.meta.events.register("after-call.dynamodb", _after_call)
        instrument_usage(client)  # the operations page's metering (end of this module)
        _instrumented.add(client)


class track:
    """`with track() as stats:` counts the DynamoDB calls made inside the block.

    `capacity=True` also asks DynamoDB for the units each call consumed (see the module docstring).
    """

    def __init__(self, capacity: bool = False) -> None:
        self.capacity = capacity

    def __enter__(self) -> CallStats:
        outer = _current.get()
        self.stats = CallStats(want_capacity=self.capacity or bool(outer and outer.want_capacity))
        self._outer = _current.get()
        self._token = _current.set(self.stats)
        return self.stats

    def __exit__(self, *exc) -> None:
        _current.reset(self._token)
        if self._outer is not None:
            # Nested tracking (a benchmark around a request): the outer block counts these calls too.
            self._outer.calls += self.stats.calls
            self._outer.capacity += self.stats.capacity
            for operation, count in self.stats.operations.items():
                self._outer.operations[operation] = self._outer.operations.get(operation, 0) + count


# --- Usage metering for the operations page (self-contained: registered by `instrument` below) -------
# Every call that can report it asks DynamoDB for ReturnConsumedCapacity=INDEXES; the units, errors and
# latency of each call are summed in memory (`METER`) per UTC day and per table, index and operation.
# dashboard.operations.services.flush_usage() drains the sums into the dynamo-usage table with atomic
# ADDs (one UpdateItem per row touched since the last flush), so metering adds a few calls per flush
# interval, never a call per request.

import threading  # noqa: E402 — kept with the block it serves
import time as _time  # noqa: E402
from datetime import UTC, datetime  # noqa: E402

from dashboard.core import monitoring  # noqa: E402

READ_OPERATIONS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})
WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
LATENCY_BOUNDS_MS = (1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 100, 250, 1000)  # then one overflow bucket
THROTTLE_CODES = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)
# Table suffix -> its TTL attribute: reads filtering on it report how many expired items DynamoDB still
# returned (ScannedCount - Count), a sample-free measure of TTL lag. Filled by the operations app.
TTL_ATTRIBUTES: dict[str, str] = {}


def latency_bucket(ms: float) -> int:
    for index, bound in enumerate(LATENCY_BOUNDS_MS):
        if ms <= bound:
            return index
    return len(LATENCY_BOUNDS_MS)


class UsageMeter:
    """In-memory sums: {(day, row key): {counter: value}}; thread-safe; drained by the flusher."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[tuple[str, str], dict[str, float]] = {}

    def add(self, day: str, row: str, counter: str, value: float) -> None:
        if not value:
            return
        with self._lock:
            counters = self._rows.setdefault((day, row), {})
            counters[counter] = counters.get(counter, 0) + value

    def drain(self) -> dict[tuple[str, str], dict[str, float]]:
        with self._lock:
            rows, self._rows = self._rows, {}
        return rows

    def restore(self, rows: dict[tuple[str, str], dict[str, float]]) -> None:
        """A flush that failed gives its sums back, to be written by the next one."""
        for (day, row), counters in rows.items():
            for counter, value in counters.items():
                self.add(day, row, counter, value)


METER = UsageMeter()
metering_enabled = True

# The tenant a call serves (its cost to serve): set by the request's access scope or API key, or by a
# job working for one tenant; None = the platform's own (sessions, staff lists), shown as unattributed.
# Summed per UTC day in rows `tenant#<id>` (units and calls), flushed to one row per tenant and month.
UNATTRIBUTED = "-"
_tenant: contextvars.ContextVar[str | None] = contextvars.ContextVar("dynamo_tenant", default=None)


def attribute_to(tenant_id: str | None) -> None:
    """The calls made from here on in this context (a request, a job step) serve `tenant_id`."""
    _tenant.set(tenant_id)


class tenant_scope:
    """`with tenant_scope(tenant_id):` the calls inside serve that tenant; the previous one after."""

    def __init__(self, tenant_id: str | None = None) -> None:
        self.tenant_id = tenant_id

    def __enter__(self) -> None:
        self._token = _tenant.set(self.tenant_id)

    def __exit__(self, *exc) -> None:
        _tenant.reset(self._token)


def _tables_of(params: dict) -> list[str]:
    if "TableName" in params:
        return [params["TableName"]]
    if "RequestItems" in params:
        return list(params["RequestItems"])
    return [
        action.get("TableName")
        for item in params.get("TransactItems", [])
        for action in item.values()
        if isinstance(action, dict)
    ]


def _ask_capacity(params=None, model=None, context=None, **kwargs) -> None:
    if context is not None and params is not None:
        context["metering_params"] = params  # the API parameters (before-call only sees the HTTP request)
    if (
        metering_enabled
        and model is not None
        and params is not None
        and (model.name in READ_OPERATIONS or model.name in WRITE_OPERATIONS)
    ):
        params["ReturnConsumedCapacity"] = "INDEXES"  # a superset of TOTAL


def _start_clock(model=None, params=None, context=None, **kwargs) -> None:
    if context is not None:
        context["metering_started"] = _time.perf_counter()


def _prometheus(operation: str, params: dict, parsed: dict, elapsed_ms: float) -> None:
    """The same call, for /metrics (dashboard.core.monitoring): table names without the prefix."""
    tables = [_suffix(table) for table in _tables_of(params) if table] or ["-"]
    for table in tables:
        monitoring.DYNAMODB_CALLS.labels(table, operation).inc()
    monitoring.DYNAMODB_LATENCY.labels(operation).observe(elapsed_ms / 1000)
    kind = "read" if operation in READ_OPERATIONS else "write"
    consumed = parsed.get("ConsumedCapacity")
    for entry in [consumed] if isinstance(consumed, dict) else consumed or []:
        units = float(entry.get("CapacityUnits", 0) or 0)  # the table and its indexes
        if units:
            monitoring.DYNAMODB_UNITS.labels(_suffix(entry.get("TableName", "-")), operation, kind).inc(units)
    code = (parsed.get("Error") or {}).get("Code")
    if code:
        for table in tables:
            monitoring.DYNAMODB_ERRORS.labels(table, operation, code).inc()


def _count_throttle(response=None, operation=None, request_dict=None, **kwargs) -> None:
    """needs-retry: every attempt's answer, retried ones included (after-call sees only the last)."""
    if response is None or operation is None:
        return
    code = ((response[1] or {}).get("Error") or {}).get("Code")
    if code in THROTTLE_CODES:
        params = ((request_dict or {}).get("context") or {}).get("metering_params") or {}
        for table in [_suffix(t) for t in _tables_of(params) if t] or ["-"]:
            monitoring.DYNAMODB_THROTTLES.labels(table, operation.name).inc()


def _meter(http_response=None, parsed=None, model=None, context=None, **kwargs) -> None:
    if model is None or context is None or "metering_started" not in context:
        return
    elapsed_ms = (_time.perf_counter() - context["metering_started"]) * 1000
    params = context.get("metering_params") or {}
    parsed = parsed or {}
    _prometheus(model.name, params, parsed, elapsed_ms)
    if not metering_enabled:
        return
    day = datetime.now(UTC).date().isoformat()
    operation = model.name
    op_row = f"op#{operation}"
    METER.add(day, op_row, "calls", 1)
    METER.add(day, op_row, "latency_ms_sum", elapsed_ms)
    METER.add(day, op_row, f"b{latency_bucket(elapsed_ms):02d}", 1)
    unit = "read_units" if operation in READ_OPERATIONS else "write_units"
    consumed = parsed.get("ConsumedCapacity")
    tenant_row = f"tenant#{_tenant.get() or UNATTRIBUTED}"
    METER.add(day, tenant_row, "calls", 1)
    for entry in [consumed] if isinstance(consumed, dict) else consumed or []:
        METER.add(day, tenant_row, unit, float(entry.get("CapacityUnits", 0) or 0))  # table + indexes
    for entry in [consumed] if isinstance(consumed, dict) else consumed or []:
        table = entry.get("TableName", "?")
        table_units = (entry.get("Table") or {}).get("CapacityUnits")
        indexes = {
            **(entry.get("GlobalSecondaryIndexes") or {}),
            **(entry.get("LocalSecondaryIndexes") or {}),
        }
        if table_units is None and not indexes:
            table_units = entry.get("CapacityUnits", 0)
        METER.add(day, f"table#{table}", unit, float(table_units or 0))
        for index_name, index_units in indexes.items():
            METER.add(
                day, f"index#{table}#{index_name}", unit, float(index_units.get("CapacityUnits", 0) or 0)
            )
    tables = _tables_of(params)
    for table in tables:
        METER.add(day, f"table#{table}", "calls", 1)
    error = (parsed.get("Error") or {}).get("Code")
    if error:
        _count_error(day, error, tables, parsed)
    ttl_name = TTL_ATTRIBUTES.get(_suffix(params.get("TableName", "")))
    filters_ttl = ttl_name in (params.get("ExpressionAttributeNames") or {}).values()
    if ttl_name and operation in ("Query", "Scan") and params.get("FilterExpression") and filters_ttl:
        hidden = int(parsed.get("ScannedCount", 0)) - int(parsed.get("Count", 0))
        METER.add(day, f"table#{params['TableName']}", "expired_filtered", max(hidden, 0))


def _suffix(table_name: str) -> str:
    from django.conf import settings

    return table_name.removeprefix(f"{settings.DYNAMODB_TABLE_PREFIX}-")


def _count_error(day: str, code: str, tables: list[str], parsed: dict) -> None:
    if code == "TransactionCanceledException":
        for table, reason in zip(tables, parsed.get("CancellationReasons") or [], strict=False):
            reason_code = (reason or {}).get("Code")
            if reason_code == "ConditionalCheckFailed":
                METER.add(day, f"table#{table}", "condition_failures", 1)
            elif reason_code == "TransactionConflict":
                METER.add(day, f"table#{table}", "tx_conflicts", 1)
            elif reason_code in ("ThrottlingError", "ProvisionedThroughputExceeded"):
                METER.add(day, f"table#{table}", "throttles", 1)
        return
    counter = (
        "condition_failures"
        if code == "ConditionalCheckFailedException"
        else "tx_conflicts"
        if code in ("TransactionConflictException", "TransactionInProgressException")
        else "throttles"
        if code in THROTTLE_CODES
        else "errors"
    )
    for table in tables:
        METER.add(day, f"table#{table}", counter, 1)


class untracked:
    """Calls made inside are not the request's own (the usage flush at request end): `track` skips them."""

    def __enter__(self) -> None:
        self._token = _current.set(None)

    def __exit__(self, *exc) -> None:
        _current.reset(self._token)


def instrument_usage(client) -> None:
    client.meta.events.register("before-parameter-build.dynamodb", _ask_capacity)
    client.meta.events.register("before-call.dynamodb", _start_clock)
    client.meta.events.register("after-call.dynamodb", _meter)
    client.meta.events.register("needs-retry.dynamodb", _count_throttle)
