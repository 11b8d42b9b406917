"""Experiments and their runs: who may see them, listing, starting and finishing runs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from dashboard.accounts import audit
from dashboard.accounts.scope import AccessScope, Can
from dashboard.accounts.tenancy import get_in_scope
from dashboard.core import clock
from dashboard.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from dashboard.core.ids import new_id
from dashboard.dynamo import base
from dashboard.dynamo.paging import Page, paginate
from dashboard.dynamo.transactions import commit, condition_failed
from dashboard.flows.models import Project
from dashboard.logs import lines
from dashboard.logs.models import Experiment, ExperimentRun, RunLogLine, experiment_key

FINISHED = ("succeeded", "failed", "cancelled")
ACTIVE = ("queued", "running")
RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,80}$")
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
    project = get_in_scope(scope, Project, project_id, what="That project")
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
        existing = Experiment.get(experiment.experiment_key)  # the tenant's own: keys carry the tenant
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
        return ExperimentRun.get(experiment.experiment_key, run.run_id)  # a retry: the run exists already
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
            tx.save(event)
    except TransactWriteError as exc:
        raise Conflict("This run changed meanwhile (it may have finished already); reload it.") from exc
    run.refresh()
    return run


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
