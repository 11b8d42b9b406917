"""What ingestion keeps about a run's log besides its lines, and what people keep about its viewer.

- volume (`run_volume`, `experiment_volume`): the histogram of a window, from the volume rows
  (dashboard/experiments/volume.py), never from the lines. With a window (`from` and `to`): one Query
  (hour rows for a window up to 6 h, else day rows). Without one: one Query of the day rows (≤ 31
  items) finds where the lines are, and when they span 6 h or less, one Query more of their hour rows
  draws them per minute. At most 2 Queries of at most 31 items (~80 KB), for any number of lines.
- patterns (`run_patterns`): one GetItem of the run's miner state (dashboard/experiments/patterns.py).
- saved views (`saved_views`): one Query of the experiment's views; columns (`log_columns`): one GetItem.
- two runs' logs compared (`compare_logs`): two runs, two windows from their starts, two pattern states.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from dashboard.core import clock
from dashboard.core.scope import AccessScope
from dashboard.dynamo.paging import decode_cursor, encode_cursor, raw_pages
from dashboard.experiments import lines, patterns, volume
from dashboard.experiments.inputs import LogFilters
from dashboard.experiments.models import Experiment, ExperimentRun, LogStat, LogView
from dashboard.experiments.queries.logs import Window, read_window
from dashboard.experiments.queries.runs import get_experiment, get_run

ROW_PAGES = 2  # a volume Query reads at most 31 rows of ≤ 2.5 KB: one page; two for safety


def _rows(key: str, low: str, high: str) -> tuple[list[dict], int]:
    """The raw volume rows of `key` with a sort key in [low, high]; and the calls made. A window that
    ends before it starts (a `to` before the retention floor) holds nothing: no call."""
    if high < low:
        return [], 0
    found, calls = [], 0
    for page in raw_pages(
        partial(LogStat.query, volume.pk(key), LogStat.sk.between(low, high)), max_calls=ROW_PAGES
    ):
        calls += 1
        found.extend(page.items)
    return found, calls


def _slots(rows: list[dict], slot_ms: int) -> list[int]:
    """The start of every slot with a count in `rows`."""
    starts = []
    for row in rows:
        at = volume.row_start(row["sk"]["S"])
        for name, value in row.items():
            if name.startswith("c") and len(name) == 4 and name[1:3].isdigit() and int(value["N"]):
                starts.append(at + int(name[1:3]) * slot_ms)
    return starts


def histogram(key: str, filters: LogFilters) -> volume.Histogram:
    """The histogram of the lines under `key` (a run's or an experiment's) in the filters' window."""
    floor_ms = clock.epoch_ms(clock.now() - lines.RETENTION)
    start_ms, end_ms = filters.start_ms, filters.end_ms
    queries = 0
    day_rows = None
    if start_ms is None or end_ms is None:
        day_rows, queries = _rows(key, volume.day_sk(floor_ms), volume.day_sk(10**13 - 1))
        hours = _slots(day_rows, volume.HOUR_MS)
        if start_ms is None:
            start_ms = min(hours) if hours else clock.epoch_ms() - volume.HOUR_MS
        if end_ms is None:
            end_ms = (max(hours) + volume.HOUR_MS - 1) if hours else clock.epoch_ms()
        end_ms = max(end_ms, start_ms)
    start_ms = max(start_ms, floor_ms - floor_ms % volume.DAY_MS)
    span = end_ms + 1 - start_ms
    bucket = volume.bucket_for(span)
    if bucket == volume.MINUTE_MS:
        rows, calls = _rows(key, volume.hour_sk(start_ms), volume.hour_sk(end_ms))
        queries += calls
        if filters.start_ms is None or filters.end_ms is None:
            # No window asked for: from the first minute with lines to the last one.
            minutes = [
                at for at in _slots(rows, volume.MINUTE_MS) if start_ms - volume.HOUR_MS < at <= end_ms
            ]
            if minutes:
                start_ms = min(minutes) if filters.start_ms is None else start_ms
                end_ms = max(minutes) + volume.MINUTE_MS - 1 if filters.end_ms is None else end_ms
    else:
        if day_rows is None:
            day_rows, calls = _rows(key, volume.day_sk(start_ms), volume.day_sk(end_ms))
            queries += calls
        rows = day_rows
    bars = volume.bars_from_rows(rows, start_ms, end_ms + 1, bucket)
    result = volume.Histogram(start_ms=start_ms, end_ms=end_ms, bucket_ms=bucket, bars=bars, queries=queries)
    result.total = sum(sum(bar["counts"].values()) for bar in bars)
    return result


@dataclass
class VolumeView:
    run: ExperimentRun | None
    experiment: Experiment | None
    histogram: volume.Histogram


def run_volume(scope: AccessScope, experiment_id: str, run_id: str, filters: LogFilters) -> VolumeView:
    """The run (1 GetItem) and its histogram (1–2 Queries)."""
    run = get_run(scope, experiment_id, run_id)
    return VolumeView(run=run, experiment=None, histogram=histogram(run.run_key, filters))


def experiment_volume(scope: AccessScope, experiment_id: str, filters: LogFilters) -> VolumeView:
    """The experiment (1 GetItem) and the histogram of all its runs (1–2 Queries)."""
    experiment = get_experiment(scope, experiment_id)
    return VolumeView(
        run=None, experiment=experiment, histogram=histogram(experiment.experiment_key, filters)
    )


def pattern_state(key: str) -> LogStat | None:
    """A run's pattern miner state (1 GetItem), None before its first line."""
    try:
        return LogStat.get(patterns.state_pk(key), patterns.STATE_SK)
    except LogStat.DoesNotExist:
        return None


@dataclass
class PatternsView:
    run: ExperimentRun
    patterns: list[patterns.Pattern]
    mined: int  # lines mined so far


def run_patterns(scope: AccessScope, experiment_id: str, run_id: str) -> PatternsView:
    """The run (1 GetItem) and its patterns, most frequent first (1 GetItem)."""
    run = get_run(scope, experiment_id, run_id)
    state = pattern_state(run.run_key)
    found = patterns.patterns_of(state.state if state else None)
    return PatternsView(run=run, patterns=found, mined=int(state.mined or 0) if state else 0)


# --- saved views and columns ---


def view_pk(experiment: Experiment) -> str:
    return f"view#{experiment.experiment_key}"


def columns_pk(experiment: Experiment) -> str:
    return f"cols#{experiment.experiment_key}"


COLUMNS_SK = "columns"
MAX_VIEWS = 50


def saved_views(experiment: Experiment) -> list[LogView]:
    """The experiment's saved views by name (1 Query, at most MAX_VIEWS)."""
    return list(LogView.query(view_pk(experiment), limit=MAX_VIEWS))


def log_columns(experiment: Experiment) -> list[str]:
    """The fields the experiment's viewer shows as columns (1 GetItem)."""
    try:
        item = LogView.get(columns_pk(experiment), COLUMNS_SK)
    except LogView.DoesNotExist:
        return []
    return list(item.columns or [])


# --- two runs compared ---

COMPARE_LINES = 100


@dataclass
class ComparedRow:
    offset_ms: int
    left: object | None
    right: object | None


@dataclass
class PatternDiff:
    template: str
    shown: str
    left: int
    right: int

    @property
    def change(self) -> int:
        return self.right - self.left


@dataclass
class LogComparison:
    left: ExperimentRun
    right: ExperimentRun
    rows: list[ComparedRow]
    patterns: list[PatternDiff]
    left_window: Window
    right_window: Window
    next_cursor: str | None = None  # the later lines of both runs, from where this page stopped
    later: bool = False  # this page is not the first


def _origin(window: Window, run: ExperimentRun) -> int:
    """Time zero of a run: its first line, or its start when it has none."""
    return int(window.lines[0].ts_ms) if window.lines else clock.epoch_ms(run.started_at)


def compare_purpose(experiment_id: str, left_id: str, right_id: str) -> str:
    """A page link of one comparison is good for that comparison only."""
    return f"compare-logs:{experiment_id}:{left_id}:{right_id}"


def compare_logs(
    scope: AccessScope, experiment_id: str, left_id: str, right_id: str, cursor: str | None = None
) -> LogComparison:
    """Two runs' lines side by side, aligned by the time since each run's first line, a page of up to
    COMPARE_LINES of each at a time, and their patterns' counts diffed. A page ends where the first of
    the two runs with more lines stops, so no line of the other run is shown out of order; the next
    page (`cursor`: both runs' positions and time zeros, signed for this comparison) goes on from
    there. DynamoDB: 2 GetItems (the runs), 2 Queries (their lines), 2 GetItems (their pattern states)."""
    left, right = get_run(scope, experiment_id, left_id), get_run(scope, experiment_id, right_id)
    purpose = compare_purpose(experiment_id, left_id, right_id)
    state = decode_cursor(cursor, purpose) or {}
    after = [state.get("a"), state.get("b")]
    windows = [
        read_window(run.run_key, LogFilters(), after=position, limit=COMPARE_LINES)
        for run, position in zip((left, right), after, strict=True)
    ]
    origins = [state.get("oa"), state.get("ob")]
    for side, run in enumerate((left, right)):
        if origins[side] is None:
            origins[side] = _origin(windows[side], run)
    tagged = [
        (int(line.ts_ms) - origins[side], side, line) for side in (0, 1) for line in windows[side].lines
    ]
    tagged.sort(key=lambda item: (item[0], item[1]))
    # Where this page stops: the last line read of each run that has more, the earlier of them.
    stop = None
    for side in (0, 1):
        window = windows[side]
        if not window.complete and window.lines:
            offset = int(window.lines[-1].ts_ms) - origins[side]
            stop = offset if stop is None else min(stop, offset)
    shown = [item for item in tagged if stop is None or item[0] <= stop]
    rows = [
        ComparedRow(offset, line if side == 0 else None, line if side == 1 else None)
        for offset, side, line in shown
    ]
    next_cursor = None
    if not all(window.complete for window in windows):
        positions = list(after)
        for _offset, side, line in shown:
            positions[side] = line.sk
        if stop is None:  # every line read is shown: each run goes on from where its read ended
            positions = [window.position for window in windows]
        next_cursor = encode_cursor(
            {"a": positions[0], "b": positions[1], "oa": origins[0], "ob": origins[1]}, purpose
        )
    counts: dict[str, list[int]] = {}
    templates: dict[str, str] = {}
    for side, run in enumerate((left, right)):
        pattern_item = pattern_state(run.run_key)
        for pattern in patterns.patterns_of(pattern_item.state if pattern_item else None):
            counts.setdefault(pattern.template, [0, 0])[side] += pattern.count
            templates[pattern.template] = pattern.shown
    diffs = [PatternDiff(template, templates[template], a, b) for template, (a, b) in counts.items()]
    diffs.sort(key=lambda diff: (-abs(diff.change), -(diff.left + diff.right)))
    return LogComparison(left, right, rows, diffs, windows[0], windows[1], next_cursor, bool(state))
