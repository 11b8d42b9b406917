"""Writing the metered usage: drain the in-process sums into dynamo-usage with atomic ADDs.

Flushing costs one UpdateItem per row touched since the last flush (a row = one table, index or
operation on one day), e.g. a request mix touching 4 tables, 3 indexes and 4 operations costs 11
calls per flush, at most once per DYNAMO_USAGE_FLUSH_SECONDS (default 10 s) per process; the
flush's own calls are metered too and land in the next flush.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from pynamodb.exceptions import PynamoDBException

from dashboard.dynamo import metrics
from dashboard.operations.models import COUNTERS, DynamoUsage

log = logging.getLogger(__name__)
_flush_lock = threading.Lock()
_last_flush = time.monotonic()


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
                DynamoUsage(day[:7], f"{day}#{row}").update(actions=actions)
            except PynamoDBException:
                log.warning("usage flush failed; %d row(s) kept for the next flush", len(rows) - index)
                metrics.METER.restore(dict(list(rows.items())[index:]))
                break
            written += 1
        return written


def maybe_flush(**kwargs) -> None:
    """request_finished: flush when the interval has passed (the response has already been sent)."""
    if time.monotonic() - _last_flush >= settings.DYNAMO_USAGE_FLUSH_SECONDS:
        flush_usage()
