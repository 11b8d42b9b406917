"""The demo seed of the logs area: runs in every state, deterministic, counters that match."""

import random
from types import SimpleNamespace

from dashboard.core import clock
from dashboard.core.seeding import SeedContext
from dashboard.experiments import demo
from dashboard.experiments.models import Experiment, ExperimentRun, RunLogLine
from dashboard.flows.models import Project
from tests.conftest import unique


def _context(tenant_id: str, moment) -> SeedContext:
    projects = [
        Project(
            project_id=f"prj_{tenant_id}_{i}",
            tenant_id=tenant_id,
            name=f"P{i}",
            created_at=moment,
            updated_at=moment,
        )
        for i in range(3)
    ]
    return SeedContext(
        rng=random.Random(5),
        now=moment,
        options={"log_lines": 40},
        quiet=True,
        tenants=[SimpleNamespace(tenant_id=tenant_id, name="Seed tenant")],
        admins={tenant_id: [SimpleNamespace(user_id="usr_seed")]},
        projects={tenant_id: projects},
    )


def _snapshot(tenant_id: str) -> list:
    experiments = list(Experiment.by_tenant.query(tenant_id))
    runs = [run for e in experiments for run in ExperimentRun.query(e.experiment_key)]
    lines = [line for run in runs for line in RunLogLine.query(run.run_key)]
    return experiments, runs, lines


def test_it_seeds_runs_in_every_state_with_logs_and_matching_counters():
    tenant_id = unique("seedlogs").replace("_", "")
    demo.seed(_context(tenant_id, clock.now()))
    _experiments, runs, all_lines = _snapshot(tenant_id)
    assert {run.status for run in runs} == {"running", "queued", "succeeded", "failed", "cancelled"}
    for run in runs:
        stored = list(RunLogLine.query(run.run_key))
        assert run.line_count == len(stored)
        assert run.error_count == sum(line.severity in ("error", "critical") for line in stored)
        assert run.warning_count == sum(line.severity == "warning" for line in stored)
        if run.status == "queued":
            assert stored == []
        elif run.status == "running":
            assert stored and not any(line.final_status for line in stored)
        else:
            assert len(stored) == 41 and stored[-1].final_status == run.status
    assert {line.severity for line in all_lines} == {"debug", "info", "warning", "error", "critical"}


def test_the_same_random_seed_writes_the_same_logs():
    moment = clock.now()
    first, second = unique("seeda").replace("_", ""), unique("seedb").replace("_", "")
    demo.seed(_context(first, moment))
    demo.seed(_context(second, moment))
    a_lines, b_lines = _snapshot(first)[2], _snapshot(second)[2]
    assert [(line.sk, line.message) for line in a_lines] == [(line.sk, line.message) for line in b_lines]
