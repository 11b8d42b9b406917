"""The dashboard's own DynamoDB usage, per UTC day: units, errors and latency (see dynamo/metrics.py)."""

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

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
