"""A run's metric points: final values, curves for the experiment chart, runs compared."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dashboard.core.errors import NotFound, ValidationFailed
from dashboard.core.scope import AccessScope
from dashboard.experiments.models import (
    Experiment,
    ExperimentRun,
    RunMetricPoint,
)
from dashboard.experiments.queries.runs import get_experiment, valid_id

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
    if not all(valid_id(run_id) for run_id in wanted):
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
