"""The background worker's pass that keeps each template's 30-day summary (template_costs).

Reading 30 daily rows per card is too much for a list page, so the worker sums them once: a pass reads
each of the last WINDOW_DAYS days' template partitions (template_costs.PARTITIONS queries a day, paged:
every template run that day, whatever their number), sums each template's rows (shards, days, tenants' sets) and puts
one summary item per template, then deletes the summaries of templates no longer run in the window.
A listed template whose last 7 days worsened sharply against the 7 before (template_costs.worsened:
thresholds there) goes back to the moderation queue through marketplace's services, the figures its
reason, at most once in DRIFT_QUIET_DAYS.
Cost of a pass: 30 × PARTITIONS queries (480; +1 a page beyond the first of a busy partition), 1 query of the summaries, one
BatchWriteItem per 25 summaries. It builds once a day, from the 30 whole days before today (and the
weeks from the 14): a summary that changed every few minutes would tell a tenant, by difference, what
the others ran in those minutes; once a day it moves by a whole day's runs of every tenant at once.
Runs of today (and late arrivals for a day already summed) join at the next day's build.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from dashboard.analytics import template_costs
from dashboard.analytics.models import ExecutionRollup
from dashboard.analytics.template_costs import (
    DRIFT_DAYS,
    DRIFT_QUIET_DAYS,
    RETURNED,
    SUMMARY_PK,
    WINDOW_DAYS,
    Summary,
    Window,
    worsened,
)
from dashboard.core import clock
from dashboard.dynamo.paging import raw_pages
from dashboard.dynamo.transactions import batch_put
from dashboard.marketplace.services import return_for_review

MAX_PAGES_A_DAY = 1_000  # a bound, not a limit met in practice (a page is 1 MB of small rows)
STATE_SK = "~built"  # the summaries' partition: when the last pass built them (last_write)


@dataclass
class PassStats:
    templates: int = 0
    shown: int = 0  # summaries with figures (enough tenants)
    removed: int = 0
    queries: int = 0
    returned: list[str] = field(default_factory=list)  # templates sent back to the moderation queue


@dataclass
class Windows:
    """Each template's summed rows: the summary's 30 days, this week and the week before (drift)."""

    month: dict[str, Window] = field(default_factory=dict)
    weeks: tuple[dict[str, Window], dict[str, Window]] = field(default_factory=lambda: ({}, {}))
    queries: int = 0


def windows(today: date, days: int = WINDOW_DAYS) -> Windows:
    """The windows of the `days` days ending `today`, one Query a day and partition (more for one of
    many pages)."""
    found = Windows()
    for offset in range(days):
        day = (today - timedelta(days=offset)).isoformat()
        week = found.weeks[offset // DRIFT_DAYS] if offset < 2 * DRIFT_DAYS else None
        for day_pk in template_costs.day_pks(day):
            for page in raw_pages(ExecutionRollup.query, max_calls=MAX_PAGES_A_DAY, hash_key=day_pk):
                found.queries += 1
                for item in page.items:
                    template_id = template_costs.template_of_sk(item["sk"]["S"])
                    found.month.setdefault(template_id, Window()).add_raw(item)
                    if week is not None:
                        week.setdefault(template_id, Window()).add_raw(item)
    return found


def rebuild(today: date | None = None) -> PassStats:
    """Every template's summary of the WINDOW_DAYS whole days before `today` (figures only with enough
    tenants), then the listed templates whose week worsened sharply sent back to the queue."""
    today = today or clock.now().date()
    last = today - timedelta(days=1)
    start = last - timedelta(days=WINDOW_DAYS - 1)
    found = windows(last)
    stats = PassStats(templates=len(found.month), queries=found.queries + 1)
    summaries = {
        template_id: Summary.of(window, start.isoformat(), last.isoformat())
        for template_id, window in found.month.items()
    }
    batch_put(
        ExecutionRollup,
        [
            ExecutionRollup(SUMMARY_PK, template_id, figures=summary.as_json())
            for template_id, summary in summaries.items()
        ],
    )
    stats.shown = sum(summary.enough for summary in summaries.values())
    kept = list(ExecutionRollup.query(SUMMARY_PK, attributes_to_get=["pk", "sk", "figures"]))
    stale = [item for item in kept if not item.sk.startswith("~") and item.sk not in summaries]
    for item in stale:
        item.delete()
    stats.removed = len(stale)
    returned = {item.sk[len(RETURNED) :]: item.figures for item in kept if item.sk.startswith(RETURNED)}
    this_week, last_week = found.weeks
    for template_id, window in this_week.items():
        reason = worsened(window, last_week.get(template_id, Window()))
        if reason is None or _returned_lately(returned.get(template_id), today):
            continue
        if return_for_review(template_id, reason) is not None:
            stats.returned.append(template_id)
        # Remembered either way: a template not listed (or gone) is not looked at again this week.
        ExecutionRollup(SUMMARY_PK, f"{RETURNED}{template_id}", figures=today.isoformat()).save()
    ExecutionRollup(SUMMARY_PK, STATE_SK, last_write=int(time.time()), figures=today.isoformat()).save()
    return stats


def _returned_lately(when: str | None, today: date) -> bool:
    return when is not None and date.fromisoformat(when) > today - timedelta(days=DRIFT_QUIET_DAYS)


def due(today: date) -> bool:
    """Once a day: the summaries were not built today yet."""
    try:
        state = ExecutionRollup.get(SUMMARY_PK, STATE_SK, consistent_read=True)
    except ExecutionRollup.DoesNotExist:
        return True
    return state.figures != today.isoformat()


def run_pass(now: datetime | None = None) -> PassStats | None:
    """One pass of the background worker: the summaries rebuilt when due (None: not due)."""
    today = (now or clock.now()).date()
    return rebuild(today) if due(today) else None
