"""Writing the metered usage: drain the in-process sums into dynamo-usage with atomic ADDs.

Flushing costs one UpdateItem per row touched since the last flush (a row = one table, index or
operation on one day), e.g. a request mix touching 4 tables, 3 indexes and 4 operations costs 11
calls per flush, at most once per DYNAMODB_USAGE_FLUSH_SECONDS (default 10 s) per process; the
flush's own calls are metered too and land in the next flush.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

from django.conf import settings
from pynamodb.exceptions import PynamoDBException

from dashboard.core.clock import iso_ms
from dashboard.dynamo import metrics
from dashboard.operations.models import COUNTERS, SPANS_NOT_UNDERSTOOD, TENANTS_PREFIX, DynamoUsage

log = logging.getLogger(__name__)
_flush_lock = threading.Lock()
_last_flush = time.monotonic()


def usage_key(day: str, row: str) -> tuple[str, str]:
    """Where a metered row is added: per day in the month's partition; a tenant's cost to serve in one row
    per tenant and month (`tenants#YYYY-MM` / tenant id), so a month of every tenant is one query."""
    if row.startswith("tenant#"):
        return f"{TENANTS_PREFIX}{day[:7]}", row.removeprefix("tenant#")
    return day[:7], f"{day}#{row}"


def flush_usage() -> int:
    """Write what was metered since the last flush; returns the rows written."""
    global _last_flush
    with _flush_lock, metrics.untracked():
        _last_flush = time.monotonic()
        rows = metrics.METER.drain()
        written = 0
        for index, ((day, row), counters) in enumerate(rows.items()):
            actions = [
                getattr(DynamoUsage, name).add(round(value, 4) if isinstance(value, float) else value)
                for name, value in counters.items()
                if name in COUNTERS
            ]
            if not actions:
                continue
            try:
                DynamoUsage(*usage_key(day, row)).update(actions=actions)
            except PynamoDBException:
                log.warning("usage flush failed; %d row(s) kept for the next flush", len(rows) - index)
                metrics.METER.restore(dict(list(rows.items())[index:]))
                break
            written += 1
        return written


def maybe_flush(**kwargs) -> None:
    """request_finished: flush when the interval has passed (the response has already been sent)."""
    if time.monotonic() - _last_flush >= settings.DYNAMODB_USAGE_FLUSH_SECONDS:
        flush_usage()


def count_spans_not_understood(counts: dict[str, int], at: datetime) -> None:
    """Add spans the dashboard could not map, per instrumentation scope, to today's counters (atomic ADD).

    One UpdateItem per scope; a failure is logged and does not fail the export (its spans are stored)."""
    day = at.astimezone(UTC).date().isoformat()
    for scope, count in counts.items():
        try:
            DynamoUsage(day[:7], f"{day}#{SPANS_NOT_UNDERSTOOD}#{scope}").update(
                actions=[DynamoUsage.spans.add(count), DynamoUsage.last_seen.set(iso_ms(at))]
            )
        except PynamoDBException:
            log.warning("could not count %d span(s) not understood of scope %r", count, scope)
