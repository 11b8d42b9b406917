"""Reading a run's log: windows before/after a sort key, filtered by the GSIs, and streamed downloads.

A run's lines live under its key `tenant#experiment#run` (never the client's run id alone), so every
read below takes that key, which only `get_run` (or a signed viewer token) hands out.

Positions are sort keys (`ts_ms#tiebreak`), unique inside a run. A window after position P returns
the first matching lines with a key above P, in key order, and the position to continue from: the
key of the last line returned, so a line written while a read is in flight is either in this
window or beyond its position, never skipped, never repeated.

Which DynamoDB reads serve a filter:
- no filter: the table itself (one query);
- component: the `run_component` GSI (one query);
- minimum severity: one query on the `run_severity` GSI per severity at or above it (at most five),
  merged by sort key; with a component too, the component GSI filtered on severity server-side;
- text: a server-side, case-insensitive `contains` filter on whichever of the above, reading at most
  `MAX_PAGES` pages per query, so a rare word costs a bounded number of calls and resumes later.
Expired lines (TTL) sit below a known key (`lines.live_floor()`), so every read starts above it.

Across a whole experiment (the `experiment_key + sk` GSI, for the JSON API): the filters are applied by
DynamoDB, at most `MAX_PAGES` pages a call.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from botocore.exceptions import BotoCoreError
from django.core import signing
from pynamodb.exceptions import PynamoDBException

from dashboard.core.errors import NotFound, ValidationFailed
from dashboard.core.scope import AccessScope, Can
from dashboard.dynamo.paging import Page, bounded_page, decode_cursor, encode_cursor, raw_pages
from dashboard.experiments import lines
from dashboard.experiments.inputs import LogFilters, check_position
from dashboard.experiments.models import (
    ExperimentRun,
    RunLogLine,
    run_key,
)
from dashboard.experiments.queries.runs import get_experiment, get_run

log = logging.getLogger(__name__)

MAX_WINDOW = 500


MAX_PAGES = 3


SEARCH_PAGE = 1_000


DOWNLOAD_PAGE = 1_000


@dataclass
class Window:
    lines: list[RunLogLine]
    position: str | None  # where the next window in the same direction starts
    complete: bool  # nothing more matched beyond `position` when this was read
    queries: int = 0


def _sources(key: str, filters: LogFilters) -> list[tuple[Any, str, Any]]:
    """(query method, hash key, extra filter condition) for each query that serves the filters."""
    condition = None
    if filters.text and not filters.regex:
        condition = lines.text_matches(filters.text)
    if filters.component:
        if filters.severity:
            wanted = RunLogLine.severity.is_in(*lines.severities_at_or_above(filters.severity))
            condition = wanted if condition is None else condition & wanted
        return [(RunLogLine.by_component.query, lines.run_component(key, filters.component), condition)]
    if filters.severity:
        return [
            (RunLogLine.by_severity.query, lines.run_severity(key, severity), condition)
            for severity in lines.severities_at_or_above(filters.severity)
        ]
    return [(RunLogLine.query, key, condition)]


def _bounds(filters: LogFilters, key: str) -> tuple[str, str | None]:
    """The sort keys the time window spans: above the live floor of the tenant's retention (`key`:
    the tenant id or any log key) and `from`, up to `to` (inclusive)."""
    low = lines.live_floor(key)
    if filters.start_ms is not None:
        low = max(low, lines.sort_key(filters.start_ms, ""))
    high = lines.sort_key(filters.end_ms, "~~~~") if filters.end_ms is not None else None
    return low, high


def _read_source(
    source: tuple[Any, str, Any], after: str | None, before: str | None, want: int, filters: LogFilters
) -> tuple[list[RunLogLine], str | None, int]:
    """Up to `want` lines of one query, in reading order; the position up to which the query was
    read completely (None: to its end); and the number of DynamoDB calls made.

    A regular expression or a field filter is applied here, line by line, to pages of `SEARCH_PAGE`
    lines, at most `MAX_PAGES` of them a call, like DynamoDB's own text filter."""
    query, hash_key, condition = source
    floor, ceiling = _bounds(filters, hash_key)
    low = max(after, floor) if after else floor
    high = min(before, ceiling) if before and ceiling else (before or ceiling)
    if high is not None:
        if high < low:
            return [], None, 0
        # `between` is inclusive: the two bounds themselves are skipped below (`before`, `after`).
        key_condition = RunLogLine.sk.between(low, high)
    else:
        key_condition = RunLogLine.sk > low
    page_size = want + 2 if before else want
    searching = condition is not None or filters.reads_lines
    found: list[RunLogLine] = []
    calls = 0
    for page in raw_pages(
        partial(query, hash_key, key_condition),
        max_calls=MAX_PAGES,
        filter_condition=condition,
        scan_index_forward=before is None,
        page_size=SEARCH_PAGE if searching else page_size,
    ):
        calls += 1
        for raw in page.items:
            line = RunLogLine.from_raw_data(raw)
            if line.sk in (low, before) or (filters.reads_lines and not filters.matches(line)):
                continue
            found.append(line)
            if len(found) == want:
                return found, line.sk, calls
        if page.next_key is None:
            return found, None, calls
    return found, page.next_key["sk"]["S"], calls


def read_window(
    key: str,
    filters: LogFilters,
    *,
    after: str | None = None,
    before: str | None = None,
    limit: int = 200,
) -> Window:
    """Lines after `after`, or with `before` the lines just before it; oldest first either way.

    Each source returns its next `limit` lines; merged by sort key, only lines up to the point every
    source has read completely are kept, so a bounded search never hides a line it did not reach.
    """
    limit = max(1, min(limit, MAX_WINDOW))
    forward = before is None
    reads = [_read_source(source, after, before, limit, filters) for source in _sources(key, filters)]
    merged = sorted((line for found, _h, _c in reads for line in found), key=lambda line: line.sk)
    if not forward:
        merged.reverse()  # reading order: newest first
    horizons = [horizon for _f, horizon, _c in reads if horizon is not None]
    horizon = (min(horizons) if forward else max(horizons)) if horizons else None
    if horizon is not None:
        merged = [line for line in merged if (line.sk <= horizon if forward else line.sk >= horizon)]
    complete = horizon is None and len(merged) <= limit
    merged = merged[:limit]
    if len(merged) == limit or horizon is None:
        position = merged[-1].sk if merged else (after if forward else before)
    else:
        position = horizon  # searched this far without finding more
    if not forward:
        merged.reverse()
    return Window(
        lines=merged,
        position=position,
        complete=complete,
        queries=sum(calls for _f, _h, calls in reads),
    )


def newest_window(key: str, filters: LogFilters, *, limit: int = 200) -> Window:
    """The newest lines (of the time window, if any), for opening the viewer: read backwards from the
    end, shown oldest first."""
    return read_window(key, filters, before=lines.sort_key(10**13 - 1, "~~~~"), limit=limit)


def viewer_window(
    scope: AccessScope,
    experiment_id: str,
    run_id: str,
    filters: LogFilters,
    *,
    after: str | None = None,
    before: str | None = None,
    limit: int = 200,
) -> tuple[ExperimentRun, Window]:
    """The run (checked against the scope) and a window of its lines."""
    run = get_run(scope, experiment_id, run_id)
    after = check_position(after, "after")
    before = check_position(before, "before")
    if before:
        return run, read_window(run.run_key, filters, before=before, limit=limit)
    if after:
        return run, read_window(run.run_key, filters, after=after, limit=limit)
    return run, newest_window(run.run_key, filters, limit=limit)


AROUND = 50  # lines shown on each side of a permalinked line


@dataclass
class Around:
    window: Window  # the lines before, the line itself and the lines after, oldest first
    target: RunLogLine | None
    earlier: str | None  # where loading earlier lines continues (None: the start of the log)
    later: str | None  # where reading later lines continues
    complete_after: bool


def around(scope: AccessScope, experiment_id: str, run_id: str, at: str) -> tuple[ExperimentRun, Around]:
    """The run and its lines around the line at `at`, unfiltered (a permalink or "show context").

    Three reads: the line itself (GetItem), the window before it and the window after it."""
    run = get_run(scope, experiment_id, run_id)
    at = check_position(at, "at")
    try:
        target = RunLogLine.get(run.run_key, at)
    except RunLogLine.DoesNotExist:
        target = None
    if target is not None and target.sk <= lines.live_floor(run.tenant_id):
        target = None  # expired: DynamoDB deletes late, the viewer never shows it
    if target is None:
        raise NotFound(
            "That log line is not in this run any more (lines are kept 30 days).", {"at": "unknown line"}
        )
    before = read_window(run.run_key, LogFilters(), before=at, limit=AROUND)
    after = read_window(run.run_key, LogFilters(), after=at, limit=AROUND)
    shown = [*before.lines, target, *after.lines]
    window = Window(
        lines=shown,
        position=shown[-1].sk,
        complete=before.complete and after.complete,
        queries=before.queries + after.queries + 1,
    )
    earlier = None if before.complete or not before.position else before.position
    return run, Around(window, target, earlier, after.position or at, after.complete)


def find_error(
    scope: AccessScope, experiment_id: str, run_id: str, which: str, start: str | None = None
) -> str | None:
    """The sort key of the run's first error line, or the next/previous one from `start` (an error
    or critical line); one Query per error severity on the severity index."""
    if which not in ("first", "next", "prev"):
        raise ValidationFailed("Ask for the first, next or previous error.", {"error": "first, next or prev"})
    run = get_run(scope, experiment_id, run_id)
    start = check_position(start, "from")
    floor = lines.live_floor(run.tenant_id)
    forward = which != "prev"
    if which == "first" or not start:
        condition = RunLogLine.sk > floor
    elif forward:
        condition = RunLogLine.sk > max(start, floor)
    else:
        condition = RunLogLine.sk.between(floor, start)
    found = []
    for severity in lines.ERROR_SEVERITIES:
        for line in RunLogLine.by_severity.query(
            lines.run_severity(run.run_key, severity), condition, scan_index_forward=forward, limit=2
        ):
            if line.sk not in (start, floor):
                found.append(line.sk)
                break
    if not found:
        return None
    return min(found) if forward else max(found)


def lines_from(
    scope: AccessScope,
    experiment_id: str,
    run_id: str,
    filters: LogFilters,
    *,
    after: str | None = None,
    limit: int = 200,
) -> tuple[ExperimentRun, Window]:
    """The run and its lines after a position, oldest first (from the start without one)."""
    run = get_run(scope, experiment_id, run_id)
    return run, read_window(run.run_key, filters, after=check_position(after, "after"), limit=limit)


def run_ended(key: str) -> str | None:
    """The final status when the newest line of the run is its closing line (one query)."""
    newest = list(RunLogLine.query(key, scan_index_forward=False, limit=1))
    return newest[0].final_status if newest else None


def iterate_all(key: str) -> Iterator[RunLogLine]:
    """Every live line of the run in order, one page of DynamoDB at a time (for downloads)."""
    results = RunLogLine.query(key, RunLogLine.sk > lines.live_floor(key), page_size=DOWNLOAD_PAGE)
    yield from results


DOWNLOAD_FORMATS = {"ndjson": "application/x-ndjson", "text": "text/plain; charset=utf-8"}


@dataclass
class Download:
    filename: str
    content_type: str
    chunks: Iterator[str]


def download(scope: AccessScope, experiment_id: str, run_id: str, fmt: str) -> Download:
    """The whole run's log as NDJSON or text, produced lazily so the response streams.

    The first page is read before anything is sent, so an unreachable database answers 503. A read
    that fails later cannot change the status any more: the download then ends with a line saying it
    was cut, never silently short.
    """
    if fmt not in DOWNLOAD_FORMATS:
        raise ValidationFailed("Download as ndjson or text.", {"format": "ndjson or text"})
    run = get_run(scope, experiment_id, run_id)
    stream = iterate_all(run.run_key)
    first = next(stream, None)

    def render(line: RunLogLine) -> str:
        if fmt == "ndjson":
            return json.dumps(lines.as_dict(line), separators=(",", ":")) + "\n"
        return lines.as_text(line) + "\n"

    def chunks() -> Iterator[str]:
        if first is None:
            return
        yield render(first)
        shown = 1
        try:
            for line in stream:
                yield render(line)
                shown += 1
        except (PynamoDBException, BotoCoreError) as exc:
            log.error("Log download of %s cut after %d lines: %s", run.run_key, shown, exc)
            message = f"download cut after {shown} lines: the database stopped answering; download again"
            if fmt == "ndjson":
                yield json.dumps({"error": {"code": "download_cut", "message": message}}) + "\n"
            else:
                yield f"!! {message}\n"

    extension = "ndjson" if fmt == "ndjson" else "log"
    return Download(f"{run_id}.{extension}", DOWNLOAD_FORMATS[fmt], chunks())


TAIL_SALT = "experiments:tail"


def tail_token(run: ExperimentRun) -> str:
    """Signed proof, handed out with the viewer page, that this run was checked against a tenant.

    It lets each poll skip reading the run item: the poll is then one query."""
    return signing.dumps([run.tenant_id, run.experiment_id, run.run_id], salt=TAIL_SALT)


@dataclass
class Poll:
    window: Window
    finished: bool  # the run ended and every line up to its closing line has been shown
    final_status: str | None


def poll(
    scope: AccessScope,
    experiment_id: str,
    run_id: str,
    filters: LogFilters,
    *,
    after: str | None,
    token: str = "",
    seen_end: bool = False,
    limit: int = 200,
) -> Poll:
    """New lines after the cursor, and whether polling can stop.

    A valid token saves the run lookup (scope still checked against the tenant it names); the run's
    end is read from its closing line, so an unfiltered poll costs exactly one query.
    """
    try:
        tenant_id, token_experiment, token_run = signing.loads(token, salt=TAIL_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        key = get_run(scope, experiment_id, run_id).run_key
    else:
        if (token_experiment, token_run) != (experiment_id, run_id):
            key = get_run(scope, experiment_id, run_id).run_key
        else:
            scope.require(Can.TENANT_DATA)
            scope.check_tenant(tenant_id, "That run")
            key = run_key(tenant_id, experiment_id, run_id)
    after = check_position(after, "after")
    window = read_window(key, filters, after=after, limit=limit)
    final = next((line.final_status for line in window.lines if line.final_status), None)
    finished = False
    if window.complete:
        if final or seen_end:
            finished = True
        elif filters.active and not window.lines:
            # The closing line may be filtered out of this view: ask the run's own partition.
            final = run_ended(key)
            finished = final is not None
    return Poll(window=window, finished=finished, final_status=final)


# --- an experiment's lines across its runs (the JSON API) ---


def _condition(filters: LogFilters):
    condition = None  # PynamoDB's chaining: `None & c` is c
    if filters.severity:
        condition &= RunLogLine.severity.is_in(*lines.severities_at_or_above(filters.severity))
    if filters.component:
        condition &= RunLogLine.component == filters.component
    if filters.text and not filters.regex:
        condition &= lines.text_matches(filters.text)
    return condition


def list_lines(
    scope: AccessScope,
    experiment_id: str,
    filters: LogFilters,
    *,
    run_id: str | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> Page[RunLogLine]:
    """Oldest first. With `run_id`, the run's own keys and GSIs serve the filters; across runs the
    experiment GSI is read with the filters applied by DynamoDB, at most `MAX_PAGES` pages a call."""
    if run_id:
        run = get_run(scope, experiment_id, run_id)
        purpose = f"logs:run:{run.run_key}:{sorted(filters.as_params().items())}"
        start = decode_cursor(cursor, purpose)
        window = read_window(run.run_key, filters, after=start["after"] if start else None, limit=limit)
        next_cursor = None if window.complete else encode_cursor({"after": window.position}, purpose)
        return Page(items=window.lines, next_cursor=next_cursor)

    experiment = get_experiment(scope, experiment_id)
    purpose = f"logs:experiment:{experiment.experiment_key}:{sorted(filters.as_params().items())}"
    condition = _condition(filters)
    low, high = _bounds(filters, experiment.tenant_id)
    query = partial(
        RunLogLine.by_experiment.query,
        experiment.experiment_key,
        RunLogLine.sk.between(low, high) if high else RunLogLine.sk > low,
        filter_condition=condition,
    )
    page = bounded_page(
        query,
        RunLogLine,
        purpose=purpose,
        limit=limit,
        cursor=cursor,
        page_size=SEARCH_PAGE if condition is not None or filters.reads_lines else limit,
        max_calls=MAX_PAGES,
    )
    if filters.reads_lines:
        # A regular expression or field filter is applied to the page read: it may hold fewer lines.
        page = Page(
            items=[line for line in page.items if filters.matches(line)], next_cursor=page.next_cursor
        )
    return page


def tenant_lines(tenant_id: str, limit: int, cursor: dict | None = None):
    """A page of every log line of one tenant (tenant index; expired ones included: the retention job
    shortens their expiry); iterate it, then its `last_evaluated_key` says where the next page starts."""
    return RunLogLine.by_tenant.query(tenant_id, limit=limit, last_evaluated_key=cursor)
