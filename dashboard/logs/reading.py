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
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError
from django.core import signing
from pynamodb.exceptions import PynamoDBException

from dashboard.accounts.scope import AccessScope, Can
from dashboard.core.errors import ValidationFailed
from dashboard.logs import lines
from dashboard.logs.models import SEVERITIES, ExperimentRun, RunLogLine, run_key
from dashboard.logs.services import get_run

log = logging.getLogger(__name__)

MAX_WINDOW = 500
MAX_PAGES = 3
SEARCH_PAGE = 1_000
DOWNLOAD_PAGE = 1_000


@dataclass(frozen=True)
class LogFilters:
    severity: str = ""  # minimum severity; "" = all
    component: str = ""
    text: str = ""

    @classmethod
    def from_params(cls, params: Any) -> LogFilters:
        severity = (params.get("severity") or "").strip().lower()
        if severity and severity not in SEVERITIES:
            raise ValidationFailed("Unknown severity.", {"severity": f"one of {', '.join(SEVERITIES)}"})
        if severity == SEVERITIES[0]:
            severity = ""  # "debug and above" is everything
        component = (params.get("component") or "").strip()
        if "#" in component or len(component) > 64:
            raise ValidationFailed("Unknown component.", {"component": "a component name"})
        text = (params.get("q") or "").strip()[:200]
        return cls(severity=severity, component=component, text=text)

    @property
    def active(self) -> bool:
        return bool(self.severity or self.component or self.text)

    def as_params(self) -> dict[str, str]:
        params = {"severity": self.severity, "component": self.component, "q": self.text}
        return {key: value for key, value in params.items() if value}


@dataclass
class Window:
    lines: list[RunLogLine]
    position: str | None  # where the next window in the same direction starts
    complete: bool  # nothing more matched beyond `position` when this was read
    queries: int = 0


def check_position(value: str | None, name: str) -> str | None:
    if not value:
        return None
    if not lines.is_sort_key(value):
        raise ValidationFailed("That log position is not valid; reload the page.", {name: "invalid"})
    return value


def _sources(key: str, filters: LogFilters) -> list[tuple[Any, str, Any]]:
    """(query method, hash key, extra filter condition) for each query that serves the filters."""
    condition = None
    if filters.text:
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


def _read_source(
    source: tuple[Any, str, Any], after: str | None, before: str | None, want: int
) -> tuple[list[RunLogLine], str | None, int]:
    """Up to `want` lines of one query, in reading order; the position up to which the query was
    read completely (None: to its end); and the number of DynamoDB calls made."""
    query, hash_key, condition = source
    floor = lines.live_floor()
    low = max(after, floor) if after else floor
    if before:
        # Newest first below `before`; `between` is inclusive, so the two bounds are skipped below.
        key_condition = RunLogLine.sk.between(low, before)
        page_size = want + 2
    else:
        key_condition = RunLogLine.sk > low
        page_size = want
    results = query(
        hash_key,
        key_condition,
        filter_condition=condition,
        scan_index_forward=before is None,
        page_size=SEARCH_PAGE if condition is not None else page_size,
    )
    found: list[RunLogLine] = []
    calls = 0
    while calls < MAX_PAGES:
        try:
            page = next(results.page_iter)
        except StopIteration:
            return found, None, calls
        calls += 1
        for raw in page.get("Items", []):
            line = RunLogLine.from_raw_data(raw)
            if line.sk in (low, before):
                continue
            found.append(line)
            if len(found) == want:
                return found, line.sk, calls
        if results.page_iter.last_evaluated_key is None:
            return found, None, calls
    return found, results.page_iter.last_evaluated_key["sk"]["S"], calls


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
    reads = [_read_source(source, after, before, limit) for source in _sources(key, filters)]
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


def tail(key: str, filters: LogFilters, after: str | None, *, limit: int = 200) -> Window:
    """New lines after the cursor (the live viewer's poll)."""
    return read_window(key, filters, after=after, limit=limit)


def latest(key: str, filters: LogFilters, *, limit: int = 200) -> Window:
    """The newest lines, for opening the viewer: read backwards from the end, shown oldest first."""
    return read_window(key, filters, before=lines.sort_key(10**13 - 1, "~~~~"), limit=limit)


def run_logs(
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
        return run, tail(run.run_key, filters, after, limit=limit)
    return run, latest(run.run_key, filters, limit=limit)


def lines_after(
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
    return run, tail(run.run_key, filters, check_position(after, "after"), limit=limit)


def run_ended(key: str) -> str | None:
    """The final status when the newest line of the run is its closing line (one query)."""
    newest = list(RunLogLine.query(key, scan_index_forward=False, limit=1))
    return newest[0].final_status if newest else None


def iterate_all(key: str) -> Iterator[RunLogLine]:
    """Every live line of the run in order, one page of DynamoDB at a time (for downloads)."""
    results = RunLogLine.query(key, RunLogLine.sk > lines.live_floor(), page_size=DOWNLOAD_PAGE)
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


# --- the live viewer's poll ------------------------------------------------------------------------

TAIL_SALT = "logs:tail"


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
    window = tail(key, filters, after, limit=limit)
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
