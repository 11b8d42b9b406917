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


class DynamoUsage(DynamoModel):
    """pk: month `YYYY-MM` (a 30-day page is one or two queries); sk: `YYYY-MM-DD#table#<name>`,
    `…#index#<table>#<index>` or `…#op#<Operation>`. Every counter is only ever ADDed to."""

    Meta = table_meta("dynamo-usage")
    month = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    vars().update({name: NumberAttribute(null=True) for name in COUNTERS})
