"""What of a tenant experiments keeps, for staff's export and erase (dashboard.operations.erasure):
experiments, runs, log lines, metric points and saved views carry `tenant_id`; log counters and
pattern miners carry the run's key (`vol#tenant#…`, `pat#tenant#…`)."""

from __future__ import annotations

from dashboard.dynamo.erase import TenantTable
from dashboard.experiments.models import (
    Experiment,
    ExperimentRun,
    LogStat,
    LogView,
    RunLogLine,
    RunMetricPoint,
)


def tenant_tables() -> list[TenantTable]:
    return [
        TenantTable("experiments", Experiment, lambda t: Experiment.tenant_id == t),
        TenantTable("experiment-runs", ExperimentRun, lambda t: ExperimentRun.tenant_id == t),
        TenantTable("run-log-lines", RunLogLine, lambda t: RunLogLine.tenant_id == t),
        TenantTable("run-metric-points", RunMetricPoint, lambda t: RunMetricPoint.tenant_id == t),
        TenantTable(
            "experiment-log-stats",
            LogStat,
            lambda t: LogStat.pk.startswith(f"vol#{t}#") | LogStat.pk.startswith(f"pat#{t}#"),
        ),
        TenantTable("experiment-log-views", LogView, lambda t: LogView.tenant_id == t),
    ]
