"""The dashboard's own DynamoDB usage, per UTC day: units, errors and latency (see dynamo/metrics.py)."""

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
    VersionAttribute,
)

from dashboard.dynamo.base import DynamoModel, table_meta
from dashboard.dynamo.metrics import LATENCY_BOUNDS_MS

BUCKETS = [f"b{index:02d}" for index in range(len(LATENCY_BOUNDS_MS) + 1)]
COUNTERS = (
    "read_units",
    "write_units",
    "calls",
    "throttles",
    "condition_failures",
    "tx_conflicts",
    "errors",
    "expired_filtered",
    "latency_ms_sum",
    *BUCKETS,
)


SPANS_NOT_UNDERSTOOD = "spans"
# Cost to serve: pk `tenants#YYYY-MM`, sk the tenant id (`-`: calls no tenant was served by), with
# read_units, write_units and calls ADDed (dashboard/dynamo/metrics.py meters them per tenant).
TENANTS_PREFIX = "tenants#"


class DynamoUsage(DynamoModel):
    """pk: month `YYYY-MM` (a 30-day page is one or two queries); sk: `YYYY-MM-DD#table#<name>`,
    `…#index#<table>#<index>` or `…#op#<Operation>`. Every counter is only ever ADDed to.

    The same rows count the OpenTelemetry spans the dashboard could not map, per instrumentation scope
    (`YYYY-MM-DD#spans#<scope name>`: `spans` ADDed, `last_seen` set), so the page reads them with the
    usage it already queries."""

    Meta = table_meta("dynamo-usage")
    month = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    vars().update({name: NumberAttribute(null=True) for name in COUNTERS})
    spans = NumberAttribute(null=True)
    last_seen = UnicodeAttribute(null=True)


class TenantErasure(DynamoModel):
    """Staff's export and erase of one tenant (dashboard.operations.erasure), kept apart from the
    tenant's own items so it outlives them: every job in one partition (`kind` = "erasure", a handful
    of items ever), newest last by `job_id`.

    `status`: exporting → exported → erasing → erased (`export_only` jobs stop at exported until staff
    erase; `--no-export` jobs start at erasing). `tables`: per kind of item (dashboard.dynamo.erase
    TenantTable.name) its Scan cursor, items exported and erased, bytes of its export file, `done`.
    `version` keeps two workers from both moving one job on.
    """

    Meta = table_meta("tenant-erasures")
    kind = UnicodeAttribute(hash_key=True, default="erasure")
    job_id = UnicodeAttribute(range_key=True)
    tenant_id = UnicodeAttribute()
    tenant_name = UnicodeAttribute(default="")
    status = UnicodeAttribute()
    export_only = BooleanAttribute(default=False)
    exported_first = BooleanAttribute(default=True)
    export_dir = UnicodeAttribute(null=True)
    tables = JSONAttribute(default=dict)
    manifest = JSONAttribute(null=True)
    rounds = NumberAttribute(default=0)  # erase sweeps done: the last one found nothing left
    created_by = UnicodeAttribute()  # the staff member's label
    created_by_id = UnicodeAttribute(default="")
    created_at = UnicodeAttribute()
    heartbeat = UnicodeAttribute(null=True)
    finished_at = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    version = VersionAttribute()
