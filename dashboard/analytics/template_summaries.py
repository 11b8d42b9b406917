"""The background worker's pass that keeps each template's 30-day summary (template_costs).

Reading 30 daily rows per card is too much for a list page, so the worker sums them once: a pass reads
each of the last WINDOW_DAYS days' template partition (one Query a day, paged: every template run that
day at once, whatever their number), sums each template's rows (shards, days, tenants' sets) and puts
one summary item per template, then deletes the summaries of templates no longer run in the window.
Cost of a pass: 30 queries (+1 a page beyond the first of a busy day), 1 query of the summaries, one
BatchWriteItem per 25 summaries. It runs when the last build is older than REBUILD_SECONDS (and on a
new day), so figures trail the executions by at most that long.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dashboard.analytics import template_costs
from dashboard.analytics.models import ExecutionRollup
from dashboard.analytics.template_costs import SUMMARY_PK, WINDOW_DAYS, Summary, Window
from dashboard.core import clock
from dashboard.dynamo.paging import raw_pages
from dashboard.dynamo.transactions import batch_put

REBUILD_SECONDS = 600
MAX_PAGES_A_DAY = 1_000  # a bound, not a limit met in practice (a page is 1 MB of small rows)
STATE_SK = "~built"  # the summaries' partition: when the last pass built them (last_write)


@dataclass
class PassStats:
    templates: int = 0
    shown: int = 0  # summaries with figures (enough tenants)
    removed: int = 0
    queries: int = 0


def windows(today: date, days: int = WINDOW_DAYS) -> tuple[dict[str, Window], int]:
    """Each template's summed rows over the `days` days ending `today`, and the queries it took."""
    found: dict[str, Window] = {}
    queries = 0
    for offset in range(days):
        day = (today - timedelta(days=offset)).isoformat()
        for page in raw_pages(
            ExecutionRollup.query, max_calls=MAX_PAGES_A_DAY, hash_key=template_costs.day_pk(day)
        ):
            queries += 1
            for item in page.items:
                template_id = template_costs.template_of_sk(item["sk"]["S"])
                found.setdefault(template_id, Window()).add_raw(item)
    return found, queries


def rebuild(today: date | None = None) -> PassStats:
    """Every template's summary of the WINDOW_DAYS days ending `today` (figures only with enough tenants)."""
    today = today or clock.now().date()
    start = today - timedelta(days=WINDOW_DAYS - 1)
    found, queries = windows(today)
    stats = PassStats(templates=len(found), queries=queries + 1)
    summaries = {
        template_id: Summary.of(window, start.isoformat(), today.isoformat())
        for template_id, window in found.items()
    }
    batch_put(
        ExecutionRollup,
        [
            ExecutionRollup(SUMMARY_PK, template_id, figures=summary.as_json())
            for template_id, summary in summaries.items()
        ],
    )
    stats.shown = sum(summary.enough for summary in summaries.values())
    stale = [
        item
        for item in ExecutionRollup.query(SUMMARY_PK, attributes_to_get=["pk", "sk"])
        if item.sk != STATE_SK and item.sk not in summaries
    ]
    for item in stale:
        item.delete()
    stats.removed = len(stale)
    ExecutionRollup(SUMMARY_PK, STATE_SK, last_write=int(time.time()), figures=today.isoformat()).save()
    return stats


def due(today: date) -> bool:
    try:
        state = ExecutionRollup.get(SUMMARY_PK, STATE_SK, consistent_read=True)
    except ExecutionRollup.DoesNotExist:
        return True
    return state.figures != today.isoformat() or int(state.last_write or 0) + REBUILD_SECONDS <= time.time()


def run_pass(now: datetime | None = None) -> PassStats | None:
    """One pass of the background worker: the summaries rebuilt when due (None: not due)."""
    today = (now or clock.now()).date()
    return rebuild(today) if due(today) else None
