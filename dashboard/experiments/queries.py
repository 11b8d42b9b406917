"""The experiments area's reads: experiments and runs for a scope, and windows of a run's log.

Experiments and runs: a tenant admin's or key's own tenant always (one GetItem); staff reach any
tenant's through the experiment-id index. Lists are bounded pages (cursor paging).

Reading a run's log: windows before/after a sort key, filtered by the GSIs, and streamed downloads.

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
from datetime import datetime
from functools import partial
from typing import Any

from botocore.exceptions import BotoCoreError
from django.conf import settings
from django.core import signing
from pynamodb.exceptions import PynamoDBException

from dashboard.accounts.queries import get_in_scope
from dashboard.accounts.scope import AccessScope, Can
from dashboard.core import clock
from dashboard.core.errors import NotFound, PermissionDenied, ValidationFailed
from dashboard.dynamo.paging import Page, bounded_page, decode_cursor, encode_cursor, paginate, raw_pages
from dashboard.experiments import lines
from dashboard.experiments.inputs import LogFilters, check_position
from dashboard.experiments.models import (
    RUN_STATUSES,
    Experiment,
    ExperimentRun,
    RunLogLine,
    RunMetricPoint,
    experiment_key,
    run_key,
)

FINISHED = ("succeeded", "failed", "cancelled")
ACTIVE = ("queued", "running")
MAX_ID_LENGTH = 200  # ids we mint are short; longer ones are never looked up


RUNS_PER_EXPERIMENT_CARD = 8


@dataclass
class ExperimentSummary:
    experiment: Experiment
    runs: list[ExperimentRun]
    more_runs: bool

    @property
    def has_running(self) -> bool:
        return any(run.status in ACTIVE for run in self.runs)


def is_stalled(run: ExperimentRun, now: datetime | None = None) -> bool:
    """A run still marked running that wrote nothing (no line) for RUN_STALLED_AFTER_SECONDS."""
    if run.status not in ACTIVE or not run.started_at:
        return False
    last = max(moment for moment in (run.started_at, run.last_write_at) if moment)
    silent = ((now or clock.now()) - last).total_seconds()
    return silent > settings.RUN_STALLED_AFTER_SECONDS


def _valid_id(value: str) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH and "#" not in value


def experiment_tenant(scope: AccessScope, experiment_id: str, what: str = "That experiment") -> str:
    """The tenant whose experiment `experiment_id` the scope means.

    A tenant admin or an API key means its own tenant's, always (no read needed). Staff may open any
    tenant's experiment from a link: the id index says which tenants hold that id (one query); the
    switcher's tenant wins when it is one of them.
    """
    scope.require(Can.TENANT_DATA)
    if not _valid_id(experiment_id):
        raise NotFound(f"{what} was not found.")
    if not scope.is_staff:
        return scope.require_tenant()
    tenants = [
        item.experiment_key.split("#", 1)[0] for item in Experiment.by_id.query(experiment_id, limit=20)
    ]
    if scope.tenant_id and (scope.tenant_id in tenants or not tenants):
        return scope.tenant_id
    if len(tenants) == 1:
        return tenants[0]
    if not tenants:
        raise NotFound(f"{what} was not found.")
    raise PermissionDenied(
        "Several tenants have an experiment with this id: choose the tenant in the switcher first."
    )


def get_experiment(scope: AccessScope, experiment_id: str) -> Experiment:
    tenant_id = experiment_tenant(scope, experiment_id)
    return get_in_scope(scope, Experiment, experiment_key(tenant_id, experiment_id), what="That experiment")


def get_run(scope: AccessScope, experiment_id: str, run_id: str) -> ExperimentRun:
    """The run of the scope's tenant's experiment (one GetItem; staff: one query more)."""
    tenant_id = experiment_tenant(scope, experiment_id, "That run")
    if not _valid_id(run_id):
        raise NotFound("That run was not found.")
    return get_in_scope(
        scope, ExperimentRun, experiment_key(tenant_id, experiment_id), run_id, what="That run"
    )


def _recent_runs(experiment: Experiment, limit: int) -> tuple[list[ExperimentRun], bool]:
    # Run ids are time-ordered (ULIDs, or counters in the demo), so the newest come first backwards.
    runs = list(ExperimentRun.query(experiment.experiment_key, scan_index_forward=False, limit=limit + 1))
    return runs[:limit], len(runs) > limit


def list_experiments(scope: AccessScope, *, cursor: str | None = None, limit: int = 10) -> Page:
    """A page of the tenant's experiments, newest first, each with its latest runs.

    One query for the page plus one per experiment: bounded by `limit`, whatever the volume.
    """
    scope.require(Can.TENANT_DATA)
    tenant_id = scope.require_tenant()
    query = partial(Experiment.by_tenant.query, tenant_id, scan_index_forward=False)
    page = paginate(query, purpose=f"experiments:{tenant_id}", limit=limit, cursor=cursor)
    summaries = []
    for experiment in page.items:
        runs, more = _recent_runs(experiment, RUNS_PER_EXPERIMENT_CARD)
        summaries.append(ExperimentSummary(experiment, runs, more))
    return Page(items=summaries, next_cursor=page.next_cursor)


def experiment_summary(scope: AccessScope, experiment_id: str) -> ExperimentSummary:
    experiment = get_experiment(scope, experiment_id)
    runs, more = _recent_runs(experiment, RUNS_PER_EXPERIMENT_CARD)
    return ExperimentSummary(experiment, runs, more)


def list_runs(
    scope: AccessScope, experiment_id: str, *, cursor: str | None = None, limit: int = 20
) -> Page[ExperimentRun]:
    experiment = get_experiment(scope, experiment_id)
    query = partial(ExperimentRun.query, experiment.experiment_key, scan_index_forward=False)
    return paginate(query, purpose=f"runs:{experiment.experiment_key}", limit=limit, cursor=cursor)


def running_runs(scope: AccessScope, *, limit: int = 25) -> list[ExperimentRun]:
    """Runs running now in every tenant (staff's all-tenant view), from the status GSI."""
    scope.require(Can.RUN_PLATFORM)
    return list(ExperimentRun.by_status.query("running", scan_index_forward=False, limit=limit))


def latest_errors(scope: AccessScope, experiment_id: str, *, runs: int = 10, limit: int = 20) -> list:
    """The newest error and critical lines across the experiment's latest runs that had any.

    Reads only runs whose error counter is above zero, one severity GSI query per (run, severity):
    at most 1 + 2 × `runs` queries.
    """
    recent, _more = _recent_runs(get_experiment(scope, experiment_id), runs)
    floor = lines.live_floor()
    found: list[RunLogLine] = []
    for run in recent:
        if not run.error_count:
            continue
        for severity in lines.ERROR_SEVERITIES:
            found.extend(
                RunLogLine.by_severity.query(
                    lines.run_severity(run.run_key, severity),
                    RunLogLine.sk > floor,
                    scan_index_forward=False,
                    limit=limit,
                )
            )
    found.sort(key=lambda line: (int(line.ts_ms), line.sk), reverse=True)
    return found[:limit]


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
    found: list[RunLogLine] = []
    calls = 0
    for page in raw_pages(
        partial(query, hash_key, key_condition),
        max_calls=MAX_PAGES,
        filter_condition=condition,
        scan_index_forward=before is None,
        page_size=SEARCH_PAGE if condition is not None else page_size,
    ):
        calls += 1
        for raw in page.items:
            line = RunLogLine.from_raw_data(raw)
            if line.sk in (low, before):
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
    if target is not None and target.sk <= lines.live_floor():
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
    floor = lines.live_floor()
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


# --- an experiment's lines across its runs (the JSON API) ---


def _condition(filters: LogFilters):
    condition = None  # PynamoDB's chaining: `None & c` is c
    if filters.severity:
        condition &= RunLogLine.severity.is_in(*lines.severities_at_or_above(filters.severity))
    if filters.component:
        condition &= RunLogLine.component == filters.component
    if filters.text:
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
        window = tail(run.run_key, filters, start["after"] if start else None, limit=limit)
        next_cursor = None if window.complete else encode_cursor({"after": window.position}, purpose)
        return Page(items=window.lines, next_cursor=next_cursor)

    experiment = get_experiment(scope, experiment_id)
    purpose = f"logs:experiment:{experiment.experiment_key}:{sorted(filters.as_params().items())}"
    condition = _condition(filters)
    query = partial(
        RunLogLine.by_experiment.query,
        experiment.experiment_key,
        RunLogLine.sk > lines.live_floor(),
        filter_condition=condition,
    )
    return bounded_page(
        query,
        RunLogLine,
        purpose=purpose,
        limit=limit,
        cursor=cursor,
        page_size=SEARCH_PAGE if condition is not None else limit,
        max_calls=MAX_PAGES,
    )


def latest_experiments(scope: AccessScope, limit: int = 5) -> list[Experiment]:
    """The scope's tenant's newest experiments (one query): the home page's card."""
    scope.require(Can.TENANT_DATA)
    tenant_id = scope.require_tenant()
    return list(Experiment.by_tenant.query(tenant_id, scan_index_forward=False, limit=limit))


def run_counts_since(since: datetime, statuses: tuple[str, ...] = RUN_STATUSES) -> dict[str, int]:
    """Runs of every tenant started since `since`, per status (one count query per status)."""
    return {
        status: ExperimentRun.by_status.count(status, ExperimentRun.started_at >= since)
        for status in statuses
    }


# --- metric points ---

MAX_CHART_RUNS = 20  # the experiment chart reads one Query per run shown, at most this many
MAX_COMPARE_RUNS = 6
MAX_CURVE_POINTS = 2_000  # per run and metric: one Query page of small items


def final_metrics(run: ExperimentRun) -> dict[str, float]:
    """The value at the highest step of each metric the run recorded."""
    return {name: entry["value"] for name, entry in sorted((run.final_metrics or {}).items())}


def metric_names(runs: list[ExperimentRun]) -> list[str]:
    return sorted({name for run in runs for name in (run.final_metrics or {})})


def curve(run: ExperimentRun, name: str) -> list[tuple[int, float]]:
    """One metric of one run in step order (one Query on the run's key)."""
    points = RunMetricPoint.query(
        run.run_key,
        RunMetricPoint.point.startswith(f"{name}#"),
        limit=MAX_CURVE_POINTS,
        page_size=MAX_CURVE_POINTS,
    )
    return [(int(point.step), point.value) for point in points]


def curves(runs: list[ExperimentRun], name: str) -> list[dict[str, Any]]:
    """The chart's series: one per run that recorded `name` (others cost no read)."""
    return [
        {
            "run_id": run.run_id,
            "label": run.name or run.run_id,
            "points": [[step, value] for step, value in curve(run, name)],
        }
        for run in runs[:MAX_CHART_RUNS]
        if name in (run.final_metrics or {})
    ]


@dataclass
class RunComparison:
    experiment: Experiment
    runs: list[ExperimentRun]
    parameter_rows: list[tuple[str, list[Any], bool]]  # name, value per run, whether they differ
    metric_rows: list[tuple[str, list[Any]]]
    metric: str | None
    series: list[dict[str, Any]]


def compare_runs(
    scope: AccessScope, experiment_id: str, run_ids: list[str], metric: str | None
) -> RunComparison:
    """Two to six runs of one experiment side by side: one BatchGet, plus one Query for the curve of each."""
    experiment = get_experiment(scope, experiment_id)
    wanted = list(dict.fromkeys(run_id for run_id in run_ids if run_id))
    if len(wanted) < 2:
        raise ValidationFailed("Choose at least two runs to compare.", {"run": "choose two or more runs"})
    if len(wanted) > MAX_COMPARE_RUNS:
        raise ValidationFailed(
            f"Compare at most {MAX_COMPARE_RUNS} runs at once.", {"run": f"at most {MAX_COMPARE_RUNS}"}
        )
    if not all(_valid_id(run_id) for run_id in wanted):
        raise NotFound("One of those runs was not found.")
    found = {
        run.run_id: run
        for run in ExperimentRun.batch_get([(experiment.experiment_key, run_id) for run_id in wanted])
    }
    missing = [run_id for run_id in wanted if run_id not in found]
    if missing:
        raise NotFound(f"Run {missing[0]} is not a run of this experiment.")
    runs = [found[run_id] for run_id in wanted]
    names = sorted({name for run in runs for name in (run.parameters or {})})
    parameter_rows = []
    for name in names:
        values = [(run.parameters or {}).get(name) for run in runs]
        parameter_rows.append((name, values, len({json.dumps(v, sort_keys=True) for v in values}) > 1))
    metrics = metric_names(runs)
    metric_rows = [(name, [final_metrics(run).get(name) for run in runs]) for name in metrics]
    chosen = metric if metric in metrics else (metrics[0] if metrics else None)
    series = curves(runs, chosen) if chosen else []
    return RunComparison(experiment, runs, parameter_rows, metric_rows, chosen, series)
