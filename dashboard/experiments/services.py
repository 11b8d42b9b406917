"""The experiments area's writes: experiments, runs (start, finish) and batches of log lines.

Batch ingestion of log lines: validate everything first, then write idempotently.

Writes go in transactions of at most 100 items and about 3 MB (DynamoDB refuses a transaction over
4 MB; a message's case-folded copy can be three times its size): the lines of a chunk (each a put conditioned on its
key not existing yet) plus one counter update per run touched (atomic ADD of lines, errors,
warnings) and the volume rows its lines fall in (atomic ADDs per minute and severity: an hour row and
a day row for the run and for the experiment, usually 4 items; dashboard/experiments/volume.py).
After the transactions, the lines written are mined into their runs' patterns (`mine_patterns`). A line already stored (a retry) fails its condition and cancels the transaction; the
chunk is then written again without the lines DynamoDB named, so a retry never duplicates a line
and never counts one twice. Chunks of a batch commit one after another: if a request dies half
way, its retry skips the chunks that landed.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from dashboard.audit import services as audit
from dashboard.core import clock
from dashboard.core.errors import Conflict, NotFound, ValidationFailed
from dashboard.core.ids import new_id
from dashboard.core.inputs import join_path
from dashboard.core.scope import AccessScope, Can
from dashboard.dynamo import base
from dashboard.dynamo.item_size import check_item_size
from dashboard.dynamo.transactions import (
    Backoff,
    cancellation_codes,
    commit,
    condition_failed,
    save_together,
    transact_write,
    with_retries,
)
from dashboard.experiments import inputs, lines, patterns, queries, volume
from dashboard.experiments.inputs import clean_line, parse_batch
from dashboard.experiments.models import (
    Experiment,
    ExperimentRun,
    LogStat,
    LogView,
    RunLogLine,
    RunMetricPoint,
    experiment_key,
    metric_point_key,
)
from dashboard.experiments.queries import ACTIVE, FINISHED, get_experiment, get_run
from dashboard.flows import queries as flows

log = logging.getLogger(__name__)

RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,80}$")


def create_experiment(
    scope: AccessScope, project_id: str, name: str, description: str = "", experiment_id: str | None = None
) -> Experiment:
    """A new experiment in a project of the scope's tenant. A client-chosen id makes a retry harmless."""
    scope.require(Can.TENANT_DATA)
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name or len(name) > 120:
        raise ValidationFailed("The experiment needs a name.", {"name": "1–120 characters."})
    if not isinstance(description, str) or len(description) > 2000:
        raise ValidationFailed(
            "The description is not valid.", {"description": "text of at most 2,000 characters"}
        )
    if experiment_id is not None and not (
        isinstance(experiment_id, str) and RUN_ID_PATTERN.match(experiment_id)
    ):
        raise ValidationFailed(
            "The experiment id is not valid.", {"experiment_id": "1–80 letters, digits, or _ . : - (no #)."}
        )
    if not isinstance(project_id, str) or not project_id:
        raise ValidationFailed("Name the project.", {"project_id": "required"})
    project = flows.get_project(scope, project_id)
    experiment_id = experiment_id or new_id("exp")
    experiment = Experiment(
        experiment_key=experiment_key(project.tenant_id, experiment_id),
        experiment_id=experiment_id,
        project_id=project_id,
        tenant_id=project.tenant_id,
        name=name,
        description=description.strip(),
        created_by=scope.actor_id,
        created_at=clock.now(),
    )
    check_item_size(experiment)
    event = audit.build_event(
        scope,
        "experiment.create",
        "experiment",
        experiment.experiment_id,
        tenant_id=project.tenant_id,
        changes={"name": name},
    )

    def build(tx: TransactWrite) -> None:
        tx.save(experiment, condition=Experiment.experiment_key.does_not_exist())
        tx.save(event)

    try:
        commit(build, "An experiment with this id exists already.")
    except Conflict:
        existing = queries.experiment_by_key(experiment.experiment_key)  # keys carry the tenant
        if (existing.project_id, existing.name) != (project_id, name):
            raise Conflict(
                "This experiment id is taken; choose another.", {"experiment_id": "taken"}
            ) from None
        return existing  # a retry of the same creation
    return experiment


def start_run(
    scope: AccessScope,
    experiment_id: str,
    *,
    name: str = "",
    parameters: dict[str, Any] | None = None,
    run_id: str | None = None,
) -> ExperimentRun:
    """A new running run. A client-chosen `run_id` makes the call safe to retry."""
    experiment = get_experiment(scope, experiment_id)
    if run_id is not None and not (isinstance(run_id, str) and RUN_ID_PATTERN.match(run_id)):
        raise ValidationFailed(
            "The run id is not valid.", {"run_id": "1–80 letters, digits, or _ . : - (no #)."}
        )
    if parameters is not None and not isinstance(parameters, dict):
        raise ValidationFailed("Parameters must be an object.", {"parameters": "a JSON object"})
    run = ExperimentRun(
        experiment_key=experiment.experiment_key,
        experiment_id=experiment_id,
        run_id=run_id or new_id("run"),
        tenant_id=experiment.tenant_id,
        name=(name or "").strip()[:120],
        status="running",
        started_at=clock.now(),
        parameters=parameters or None,
    )
    check_item_size(run)  # parameters of any size would otherwise fail at DynamoDB's 400 KB
    event = audit.build_event(
        scope,
        "run.start",
        "run",
        f"{experiment_id}/{run.run_id}",
        tenant_id=experiment.tenant_id,
        changes={"status": "running"},
    )
    try:
        with base.transact_write() as tx:
            tx.save(run, condition=ExperimentRun.run_id.does_not_exist())
            tx.save(event)
    except TransactWriteError as exc:
        if not condition_failed(exc):
            raise
        return queries.run_by_key(experiment.experiment_key, run.run_id)  # a retry: the run exists already
    return run


def finish_run(scope: AccessScope, experiment_id: str, run_id: str, status: str) -> ExperimentRun:
    """Mark the run finished and write its closing log line, together.

    The closing line (tiebreak `~end`, `final_status` set) lets the live viewer learn that the run
    ended from the same single query that brings it new lines.
    """
    if status not in FINISHED:
        raise ValidationFailed(
            "A run finishes as succeeded, failed or cancelled.", {"status": f"one of {', '.join(FINISHED)}"}
        )
    run = get_run(scope, experiment_id, run_id)
    if run.status in FINISHED:
        if run.status == status:
            return run  # a retry of the same finish
        raise Conflict(f"This run already finished as {run.status}.")
    now = clock.now()
    ts_ms = clock.epoch_ms(now)
    closing = lines.closing(run, status, ts_ms)
    event = audit.build_event(
        scope,
        "run.finish",
        "run",
        f"{experiment_id}/{run_id}",
        tenant_id=run.tenant_id,
        changes={"status": f"{run.status} → {status}"},
    )
    try:
        with base.transact_write() as tx:
            tx.update(
                run,
                actions=[
                    ExperimentRun.status.set(status),
                    ExperimentRun.finished_at.set(now),
                    ExperimentRun.line_count.add(1),
                    ExperimentRun.components.add({"run"}),
                ],
                condition=ExperimentRun.status.is_in(*ACTIVE),
            )
            tx.save(closing, condition=RunLogLine.sk.does_not_exist())
            _volume_updates(tx, [closing])
            tx.save(event)
    except TransactWriteError as exc:
        raise Conflict("This run changed meanwhile (it may have finished already); reload it.") from exc
    run.refresh()
    return run


# --- batches of log lines ---


TRANSACTION_ITEMS = 100


TRANSACTION_BYTES = 3_000_000


CONFLICT_RETRIES = 6


@dataclass
class IngestResult:
    accepted: int
    written: int

    @property
    def duplicates(self) -> int:
        return self.accepted - self.written


def _runs_of(experiment: Experiment, run_ids: set[str]) -> dict[str, ExperimentRun]:
    return queries.runs_by_id(experiment.experiment_key, run_ids)


def _size(line: RunLogLine) -> int:
    """A generous estimate of the line's size as DynamoDB counts it (UTF-8 names and values)."""
    text = (line.message, line.message_folded or "", line.run_key, line.run_component, line.run_severity)
    fields = json.dumps(line.fields, ensure_ascii=False) if line.fields else ""
    return sum(len(part.encode("utf-8", "surrogatepass")) for part in (*text, fields)) + 400


def _build(experiment: Experiment, position: int, line: dict[str, Any]) -> RunLogLine:
    if line["seq"] is not None:
        tiebreak = lines.seq_tiebreak(line["seq"])
    else:
        tiebreak = lines.derived_tiebreak(position, {k: v for k, v in line.items() if k != "seq"})
    return lines.build(
        run_id=line["run_id"],
        experiment_id=experiment.experiment_id,
        tenant_id=experiment.tenant_id,
        ts_ms=line["ts_ms"],
        tiebreak=tiebreak,
        severity=line["severity"],
        component=line["component"],
        message=line["message"],
        fields=line["fields"],
    )


def ingest(scope: AccessScope, experiment_id: str, payload: Any) -> IngestResult:
    """Validate the whole batch (errors named by the line's place in it, `lines[0]` first), then write it."""
    experiment = get_experiment(scope, experiment_id)
    raw_lines = parse_batch(payload)
    now_ms = clock.epoch_ms()
    cleaned: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    for index, raw in enumerate(raw_lines):
        line, problems = clean_line(raw, now_ms)
        if problems:
            errors[join_path("lines", index)] = "; ".join(problems)
        else:
            cleaned.append(line)
    if not errors:
        runs = _runs_of(experiment, {line["run_id"] for line in cleaned})
        for index, line in enumerate(cleaned):
            if line["run_id"] not in runs:
                errors[join_path("lines", index)] = f"run_id {line['run_id']} is not a run of this experiment"
    if errors:
        raise ValidationFailed(
            f"{len(errors)} of {len(raw_lines)} lines are not valid; nothing was written.", errors
        )
    built = [_build(experiment, pos, line) for pos, line in enumerate(cleaned)]
    unique = list({(line.run_key, line.sk): line for line in built}.values())
    chunk: list[RunLogLine] = []
    chunk_bytes = 0
    stored: list[RunLogLine] = []
    counters: set = set()  # the run rows and volume rows the chunk's transaction updates
    for line in unique:
        size = _size(line)
        touched = counters | _counter_rows(line)
        if chunk and (
            len(chunk) + 1 + len(touched) > TRANSACTION_ITEMS or chunk_bytes + size > TRANSACTION_BYTES
        ):
            stored += _write_chunk(experiment, chunk)
            chunk, chunk_bytes, touched = [], 0, _counter_rows(line)
        chunk.append(line)
        chunk_bytes += size
        counters = touched
    if chunk:
        stored += _write_chunk(experiment, chunk)
    mine_patterns(stored)
    return IngestResult(accepted=len(raw_lines), written=len(stored))


def _counter_rows(line: RunLogLine) -> set:
    """The items besides the line its chunk's transaction updates: its run and its volume rows."""
    return {("run", line.run_id)} | volume.rows_touched((line.run_key, line.experiment_key), int(line.ts_ms))


def volume_counts(written: Iterable[RunLogLine]) -> dict[tuple[str, str], dict[str, int]]:
    """What the lines add to their run's and experiment's volume rows: {(pk, sk): {counter: count}}
    (dashboard/experiments/volume.py); ingestion ADDs them, the demo puts them whole."""
    increments = volume.Increments()
    for line in written:
        increments.add((line.run_key, line.experiment_key), int(line.ts_ms), line.severity)
    return increments.rows


def volume_expiry():
    """Volume rows outlive the newest line they count by a day (a row's day outlasts its first line)."""
    return clock.now() + lines.RETENTION + timedelta(days=1)


def _volume_updates(tx: TransactWrite, written: list[RunLogLine]) -> None:
    """Atomic ADDs of the lines to their run's and experiment's volume rows, in the lines' transaction."""
    expires = volume_expiry()
    for (pk, sk), counts in volume_counts(written).items():
        actions = [getattr(LogStat, name).add(count) for name, count in sorted(counts.items())]
        actions.append(LogStat.expires_at.set(expires))
        tx.update(LogStat(pk, sk), actions=actions)


# --- patterns (dashboard/experiments/patterns.py) ---

PATTERN_RETRIES = 5


def mine_patterns(written: list[RunLogLine]) -> None:
    """Mine the lines a batch wrote into their runs' pattern states: per run one GetItem and one
    conditional PutItem (the state's `rev`), again from a fresh read when another batch of the run
    wrote first. Only lines this batch stored are mined, so a retried batch changes no count.

    Counted after the lines' transaction (a state cannot be part of it: two batches of a run would
    then conflict on every chunk), so a process that dies between the two leaves those lines out of
    the patterns' counts; the histogram's counts are exact."""
    by_run: dict[str, list[RunLogLine]] = {}
    for line in written:
        by_run.setdefault(line.run_key, []).append(line)
    for key, run_lines in by_run.items():
        for _attempt in range(PATTERN_RETRIES):
            stored = queries.pattern_state(key)
            miner = patterns.Miner.load(stored.state if stored else None)
            for line in run_lines:
                miner.add(line.message, int(line.ts_ms))
            rev = int(stored.rev or 0) if stored else 0
            item = LogStat(
                patterns.state_pk(key),
                patterns.STATE_SK,
                state=miner.dump(),
                rev=rev + 1,
                mined=(int(stored.mined or 0) if stored else 0) + len(run_lines),
                expires_at=lines.expiry_for(max(int(line.ts_ms) for line in run_lines)),
            )
            condition = LogStat.rev == rev if stored else LogStat.pk.does_not_exist()
            try:
                item.save(condition=condition)
                break
            except PutError as exc:
                if exc.cause_response_code != "ConditionalCheckFailedException":
                    raise
        else:
            log.warning("Patterns of %s left out %d lines: the state kept changing", key, len(run_lines))


def _write_chunk(experiment: Experiment, chunk: list[RunLogLine]) -> list[RunLogLine]:
    """Write the chunk's new lines, their run counters and volume counters in one transaction; return
    the lines that were new."""
    pending = list(chunk)
    backoff = Backoff(CONFLICT_RETRIES, first=0.05)  # the clash itself once the tries are spent
    while pending:
        per_run: dict[str, Counter] = {}
        components: dict[str, set[str]] = {}
        for line in pending:
            components.setdefault(line.run_id, set()).add(line.component)
            counts = per_run.setdefault(line.run_id, Counter())
            counts["lines"] += 1
            if line.severity in lines.ERROR_SEVERITIES:
                counts["errors"] += 1
            elif line.severity == "warning":
                counts["warnings"] += 1
        try:
            with base.transact_write() as tx:
                for line in pending:
                    tx.save(line, condition=RunLogLine.sk.does_not_exist())
                for run_id, counts in per_run.items():
                    actions = [
                        ExperimentRun.line_count.add(counts["lines"]),
                        ExperimentRun.components.add(components[run_id]),
                        ExperimentRun.last_write_at.set(clock.now()),
                    ]
                    if counts["errors"]:
                        actions.append(ExperimentRun.error_count.add(counts["errors"]))
                    if counts["warnings"]:
                        actions.append(ExperimentRun.warning_count.add(counts["warnings"]))
                    tx.update(
                        ExperimentRun(experiment.experiment_key, run_id),
                        actions=actions,
                        condition=ExperimentRun.run_id.exists(),
                    )
                _volume_updates(tx, pending)
            return pending
        except TransactWriteError as exc:
            codes = cancellation_codes(exc)
            if any(code == "ConditionalCheckFailed" for code in codes[len(pending) :]):
                raise NotFound("A run of this batch no longer exists.") from exc
            existing = {i for i, code in enumerate(codes[: len(pending)]) if code == "ConditionalCheckFailed"}
            if existing:
                # Retried lines are already stored (and counted): write only the others.
                pending = [line for i, line in enumerate(pending) if i not in existing]
                continue
            if not any(code in ("TransactionConflict", "ThrottlingError") for code in codes):
                raise
            # Another batch is updating the same run counter right now: back off and try again.
            backoff.wait(exc)
    return []


# --- metric points ---

POINTS_PER_TRANSACTION = 99  # + the run's update: DynamoDB's 100 items


def _merge_final(final: dict[str, Any], points: list[inputs.MetricPoint]) -> dict[str, Any]:
    merged = {name: dict(entry) for name, entry in (final or {}).items()}
    for point in points:
        current = merged.get(point.name)
        if current is None or point.step >= int(current["step"]):
            merged[point.name] = {"step": point.step, "value": point.value}
    return merged


@dataclass
class MetricsResult:
    recorded: int
    run: ExperimentRun


def record_metrics(scope: AccessScope, experiment_id: str, run_id: str, payload: Any) -> MetricsResult:
    """Store a batch of metric points of one run; the run's final metrics follow the highest steps.

    Everything is checked before anything is written. Each chunk of points is written in one
    transaction with the run's update, conditioned on the `metrics_rev` the chunk was prepared from:
    a concurrent batch makes it re-read the run and merge again (never a lost final metric).
    """
    points = inputs.clean_metric_points(payload)
    run = get_run(scope, experiment_id, run_id)
    if run.status in FINISHED:
        raise Conflict(
            f"This run already finished as {run.status}; metric points are recorded while it runs.",
            {"run_id": "finished"},
        )
    names = {point.name for point in points} | set(run.final_metrics or {})
    if len(names) > inputs.MAX_METRICS_PER_RUN:
        raise ValidationFailed(
            f"A run records at most {inputs.MAX_METRICS_PER_RUN} metrics; this batch would make {len(names)}.",
            {"points": f"at most {inputs.MAX_METRICS_PER_RUN} metric names per run"},
        )
    if int(run.metric_point_count or 0) + len(points) > inputs.MAX_POINTS_PER_RUN:
        raise ValidationFailed(
            f"A run records at most {inputs.MAX_POINTS_PER_RUN} metric points; "
            f"it has {int(run.metric_point_count or 0)}.",
            {"points": f"at most {inputs.MAX_POINTS_PER_RUN} per run"},
        )
    key = run.run_key
    for start in range(0, len(points), POINTS_PER_TRANSACTION):
        chunk = points[start : start + POINTS_PER_TRANSACTION]
        _write_points(run, key, chunk)
    run.refresh(consistent_read=True)
    return MetricsResult(recorded=len(points), run=run)


def _write_points(run: ExperimentRun, key: str, chunk: list[inputs.MetricPoint]) -> None:
    state = {"run": run}

    def prepare():
        current = state["run"]
        rev = int(current.metrics_rev or 0)
        final = _merge_final(current.final_metrics or {}, chunk)

        def build(tx: TransactWrite) -> None:
            for point in chunk:
                tx.save(
                    RunMetricPoint(
                        run_key=key,
                        point=metric_point_key(point.name, point.step),
                        tenant_id=current.tenant_id,
                        name=point.name,
                        step=point.step,
                        value=point.value,
                    )
                )
            condition = (
                ExperimentRun.metrics_rev == rev
                if current.metrics_rev is not None
                else ExperimentRun.metrics_rev.does_not_exist()
            )
            tx.update(
                current,
                actions=[
                    ExperimentRun.final_metrics.set(final),
                    ExperimentRun.metrics_rev.set(rev + 1),
                    ExperimentRun.metric_point_count.add(len(chunk)),
                ],
                condition=condition & ExperimentRun.status.is_in(*ACTIVE),
            )

        return build

    def reread() -> None:
        fresh = queries.run_by_key(run.experiment_key, run.run_id, consistent=True)
        if fresh.status in FINISHED:
            raise Conflict(f"This run finished as {fresh.status} meanwhile; nothing more was recorded.")
        state["run"] = fresh

    with_retries(prepare, on_conflict=reread)


# --- the log viewer's saved views and columns (shared with the tenant) ---

VIEW_NAME = re.compile(r"^[^\x00-\x1f#]{1,60}$")
VIEW_PARAMS = ("severity", "component", "q", "regex", "where")
MAX_COLUMNS = 8
COLUMN_NAME = re.compile(r"^[A-Za-z_][\w.-]{0,63}$")


def save_view(scope: AccessScope, experiment_id: str, name: str, params: Any) -> LogView:
    """Save the viewer's filters under a name for the experiment (the same name again replaces it).

    Only the filters are kept (severity, component, search, field filter), not a run's time window:
    a view opens on any run of the experiment. The filters are checked as the viewer checks them."""
    scope.require(Can.TENANT_DATA)
    experiment = get_experiment(scope, experiment_id)
    name = (name or "").strip() if isinstance(name, str) else ""
    if not VIEW_NAME.match(name):
        raise ValidationFailed("Name the view (1–60 characters, no #).", {"name": "1–60 characters, no #"})
    filters = inputs.LogFilters.from_params({key: params.get(key) for key in VIEW_PARAMS})
    kept = filters.without_window().as_params()
    if not kept:
        raise ValidationFailed("Choose at least one filter to save as a view.", {"name": "no filter to save"})
    existing = {view.sk for view in queries.saved_views(experiment)}
    if len(existing) >= queries.MAX_VIEWS and name not in existing:
        raise ValidationFailed(f"An experiment keeps at most {queries.MAX_VIEWS} views; delete one first.")
    view = LogView(
        queries.view_pk(experiment),
        name,
        tenant_id=experiment.tenant_id,
        params=kept,
        created_by=scope.actor_label,
        updated_at=clock.now(),
    )
    event = audit.build_event(
        scope,
        "logs.view.save",
        "experiment",
        experiment_id,
        tenant_id=experiment.tenant_id,
        changes={name: kept},
    )
    save_together([view, event], "Someone saved this view at the same moment; try again.")
    return view


def delete_view(scope: AccessScope, experiment_id: str, name: Any) -> str:
    """Delete a saved view of the experiment (and audit it); Conflict if nobody has it any more."""
    scope.require(Can.TENANT_DATA)
    experiment = get_experiment(scope, experiment_id)
    name = name.strip() if isinstance(name, str) else ""
    if not VIEW_NAME.match(name):
        raise ValidationFailed("Choose a saved view to delete.", {"name": "a saved view's name"})
    event = audit.build_event(
        scope, "logs.view.delete", "experiment", experiment_id, tenant_id=experiment.tenant_id,
        changes={name: "deleted"},
    )  # fmt: skip
    try:
        with transact_write() as tx:
            tx.delete(LogView(queries.view_pk(experiment), name), condition=LogView.pk.exists())
            tx.save(event)
    except TransactWriteError as exc:
        if condition_failed(exc):
            raise Conflict(f"There is no saved view “{name}” any more; someone deleted it.") from None
        raise
    return name


def set_columns(scope: AccessScope, experiment_id: str, names: Any) -> list[str]:
    """The fields the experiment's log viewer shows as columns, in order (at most MAX_COLUMNS)."""
    scope.require(Can.TENANT_DATA)
    experiment = get_experiment(scope, experiment_id)
    if isinstance(names, str):
        names = [part for part in re.split(r"[\s,]+", names) if part]
    if not isinstance(names, list) or len(names) > MAX_COLUMNS:
        raise ValidationFailed(f"Choose at most {MAX_COLUMNS} fields.", {"columns": f"at most {MAX_COLUMNS}"})
    cleaned = []
    for raw in names:
        value = raw.removeprefix("fields.") if isinstance(raw, str) else ""
        if not COLUMN_NAME.match(value):
            raise ValidationFailed(
                f"“{str(raw)[:40]}” is not a field name.", {"columns": "field names: letters, digits, _ . -"}
            )
        if value not in cleaned:
            cleaned.append(value)
    item = LogView(
        queries.columns_pk(experiment),
        queries.COLUMNS_SK,
        tenant_id=experiment.tenant_id,
        columns=cleaned,
        created_by=scope.actor_label,
        updated_at=clock.now(),
    )
    event = audit.build_event(
        scope, "logs.columns", "experiment", experiment_id, tenant_id=experiment.tenant_id,
        changes={"columns": ", ".join(cleaned) or "none"},
    )  # fmt: skip
    save_together([item, event], "Someone changed the columns at the same moment; try again.")
    return cleaned


# --- retention: a shortened log retention applied to stored lines (dashboard.operations.retention) ---

RETENTION_PAGE = 200


def apply_log_retention_page(
    tenant_id: str, logs_days: int, cursor: dict | None = None
) -> tuple[int, int, dict | None]:
    """One page of the tenant's log lines (tenant index) whose expiry is later than `ts + logs_days`:
    the expiry is brought forward (reads already hide lines below the tenant's floor; DynamoDB deletes
    them). Returns (lines seen, lines changed, the cursor to go on from; None at the end). Safe to
    repeat: an update only ever shortens."""
    seen = changed = 0
    result = queries.tenant_lines(tenant_id, RETENTION_PAGE, cursor)
    for line in result:
        seen += 1
        expires = datetime.fromtimestamp(int(line.ts_ms) / 1000, UTC) + timedelta(days=logs_days)
        if line.expires_at is None or line.expires_at > expires:
            line.update(actions=[RunLogLine.expires_at.set(expires)])
            changed += 1
    return seen, changed, result.last_evaluated_key
