"""Experiments and runs: a tenant admin's or key's own tenant always (one GetItem); staff reach any
tenant's through the experiment-id index. Lists are bounded pages (cursor paging)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.conf import settings

from dashboard.accounts.queries import get_in_scope
from dashboard.core import clock
from dashboard.core.errors import NotFound, PermissionDenied
from dashboard.core.scope import AccessScope, Can
from dashboard.dynamo.paging import Page, paginate
from dashboard.experiments import lines, models
from dashboard.experiments.models import (
    RUN_STATUSES,
    Experiment,
    ExperimentRun,
    RunLogLine,
    experiment_key,
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


def valid_id(value: str) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH and "#" not in value


def experiment_tenant(scope: AccessScope, experiment_id: str, what: str = "That experiment") -> str:
    """The tenant whose experiment `experiment_id` the scope means.

    A tenant admin or an API key means its own tenant's, always (no read needed). Staff may open any
    tenant's experiment from a link: the id index says which tenants hold that id (one query); the
    switcher's tenant wins when it is one of them.
    """
    scope.require(Can.TENANT_DATA)
    if not valid_id(experiment_id):
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
    if not valid_id(run_id):
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
    experiment = get_experiment(scope, experiment_id)
    recent, _more = _recent_runs(experiment, runs)
    floor = lines.live_floor(experiment.tenant_id)
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


def run_key(tenant_id: str, experiment_id: str, run_id: str) -> str:
    """A run's tenant-scoped key, as other areas name a run (the registry's lineage)."""
    return models.run_key(tenant_id, experiment_id, run_id)


# --- what the writes read, by key (the caller has checked the scope) -------------------------------


def experiment_by_key(experiment_key: str) -> Experiment:
    """One GetItem; the key carries the tenant."""
    return Experiment.get(experiment_key)


def run_by_key(experiment_key: str, run_id: str, consistent: bool = False) -> ExperimentRun:
    """One GetItem; the key carries the tenant."""
    return ExperimentRun.get(experiment_key, run_id, consistent_read=consistent)


def runs_by_id(experiment_key: str, run_ids: set[str]) -> dict[str, ExperimentRun]:
    """The runs of an experiment that exist among `run_ids`: one BatchGetItem per 100."""
    found = ExperimentRun.batch_get([(experiment_key, run_id) for run_id in run_ids])
    return {run.run_id: run for run in found}
