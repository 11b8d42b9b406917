"""Experiments, their runs, and the run logs (30-day TTL).

Experiment and run ids are chosen by clients, so no key holds one alone: an experiment is keyed by
`tenant#experiment`, a run by its experiment's key plus its id, a log line by `tenant#experiment#run`.
Two tenants may both have `exp-1` with a `run-1` and never see or touch each other's items.
"""

from pynamodb.attributes import (
    JSONAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection

from dashboard.dynamo.base import DynamoModel, table_meta

LOG_TTL_DAYS = 30
SEVERITIES = ("debug", "info", "warning", "error", "critical")
RUN_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")


def experiment_key(tenant_id: str, experiment_id: str) -> str:
    return f"{tenant_id}#{experiment_id}"


def run_key(tenant_id: str, experiment_id: str, run_id: str) -> str:
    return f"{tenant_id}#{experiment_id}#{run_id}"


class ExperimentsByProject(GlobalSecondaryIndex):
    class Meta:
        index_name = "project_id-created_at-index"
        projection = AllProjection()

    project_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class ExperimentsByTenant(GlobalSecondaryIndex):
    class Meta:
        index_name = "tenant_id-created_at-index"
        projection = AllProjection()

    tenant_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class ExperimentsById(GlobalSecondaryIndex):
    """Which tenants hold an experiment id: staff open an experiment from a link without a tenant."""

    class Meta:
        index_name = "experiment_id-index"
        projection = KeysOnlyProjection()

    experiment_id = UnicodeAttribute(hash_key=True)


class Experiment(DynamoModel):
    Meta = table_meta("experiments")
    experiment_key = UnicodeAttribute(hash_key=True)  # tenant_id#experiment_id
    experiment_id = UnicodeAttribute()
    project_id = UnicodeAttribute()
    tenant_id = UnicodeAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    created_by = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    by_project = ExperimentsByProject()
    by_tenant = ExperimentsByTenant()
    by_id = ExperimentsById()

    @classmethod
    def rekey_raw(cls, item: dict) -> dict:
        """An item written before keys carried the tenant, with its new key (create_tables migrates)."""
        return {
            **item,
            "experiment_key": {"S": experiment_key(item["tenant_id"]["S"], item["experiment_id"]["S"])},
        }


class RunsByStatus(GlobalSecondaryIndex):
    class Meta:
        index_name = "status-started_at-index"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    started_at = UTCDateTimeAttribute(range_key=True)


class ExperimentRun(DynamoModel):
    Meta = table_meta("experiment-runs")
    experiment_key = UnicodeAttribute(hash_key=True)  # tenant_id#experiment_id
    run_id = UnicodeAttribute(range_key=True)
    experiment_id = UnicodeAttribute()
    tenant_id = UnicodeAttribute()
    name = UnicodeAttribute(default="")
    status = UnicodeAttribute(default="queued")
    started_at = UTCDateTimeAttribute()
    finished_at = UTCDateTimeAttribute(null=True)
    parameters = JSONAttribute(null=True)
    error_count = NumberAttribute(default=0)
    warning_count = NumberAttribute(default=0)
    line_count = NumberAttribute(default=0)
    # Grows with an atomic ADD as lines arrive: the viewer's component filter lists these.
    components = UnicodeSetAttribute(null=True)
    # When lines last arrived (wall clock): an active run silent for longer than
    # settings.RUN_STALLED_AFTER_SECONDS shows as stalled.
    last_write_at = UTCDateTimeAttribute(null=True)
    # The last point (highest step) of each metric: {"loss": {"step": 900, "value": 0.21}}. Written with the
    # points under `metrics_rev` (a conditional write), so two batches at once never lose a metric.
    final_metrics = JSONAttribute(null=True)
    metric_point_count = NumberAttribute(default=0)
    metrics_rev = NumberAttribute(null=True)
    by_status = RunsByStatus()

    @property
    def run_key(self) -> str:
        return run_key(self.tenant_id, self.experiment_id, self.run_id)

    @classmethod
    def rekey_raw(cls, item: dict) -> dict:
        return Experiment.rekey_raw(item)


class LogsByExperiment(GlobalSecondaryIndex):
    class Meta:
        index_name = "experiment_key-sk-index"
        projection = AllProjection()

    experiment_key = UnicodeAttribute(hash_key=True)  # tenant_id#experiment_id
    sk = UnicodeAttribute(range_key=True)


class LogsByComponent(GlobalSecondaryIndex):
    class Meta:
        index_name = "run_component-sk-index"
        projection = AllProjection()

    run_component = UnicodeAttribute(hash_key=True)  # run_key#component
    sk = UnicodeAttribute(range_key=True)


class LogsBySeverity(GlobalSecondaryIndex):
    class Meta:
        index_name = "run_severity-sk-index"
        projection = AllProjection()

    run_severity = UnicodeAttribute(hash_key=True)  # run_key#severity
    sk = UnicodeAttribute(range_key=True)


class LogsByTenant(GlobalSecondaryIndex):
    class Meta:
        index_name = "tenant_id-sk-index"
        projection = AllProjection()

    tenant_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class RunLogLine(DynamoModel):
    Meta = table_meta("experiment-run-logs")
    run_key = UnicodeAttribute(hash_key=True)  # tenant_id#experiment_id#run_id
    sk = UnicodeAttribute(range_key=True)  # zero-padded ts_ms#seq: time order, insertion order on ties
    run_id = UnicodeAttribute()
    experiment_id = UnicodeAttribute()
    experiment_key = UnicodeAttribute()
    tenant_id = UnicodeAttribute()
    run_component = UnicodeAttribute()
    run_severity = UnicodeAttribute()
    ts_ms = NumberAttribute()
    severity = UnicodeAttribute()
    component = UnicodeAttribute()
    message = UnicodeAttribute()
    # The message case-folded, for a case-insensitive `contains` filter (DynamoDB's is case-sensitive).
    message_folded = UnicodeAttribute(null=True)
    fields = JSONAttribute(null=True)
    # Set only on the line `finish_run` writes: the poller learns the run ended from its own query.
    final_status = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()
    by_experiment = LogsByExperiment()
    by_component = LogsByComponent()
    by_severity = LogsBySeverity()
    by_tenant = LogsByTenant()

    @classmethod
    def rekey_raw(cls, item: dict) -> dict:
        tenant, experiment, run = item["tenant_id"]["S"], item["experiment_id"]["S"], item["run_id"]["S"]
        key = run_key(tenant, experiment, run)
        return {
            **item,
            "run_key": {"S": key},
            "experiment_key": {"S": experiment_key(tenant, experiment)},
            "run_component": {"S": f"{key}#{item['component']['S']}"},
            "run_severity": {"S": f"{key}#{item['severity']['S']}"},
        }


class RunMetricPoint(DynamoModel):
    """One metric point of a run: `name` at training `step`. The same (name, step) again overwrites it
    (a retried batch stores each point once)."""

    Meta = table_meta("experiment-run-metrics")
    run_key = UnicodeAttribute(hash_key=True)  # tenant_id#experiment_id#run_id
    point = UnicodeAttribute(range_key=True)  # name#<step, 12 digits>: one metric's points in step order
    tenant_id = UnicodeAttribute()
    name = UnicodeAttribute()
    step = NumberAttribute()
    value = NumberAttribute()


def metric_point_key(name: str, step: int) -> str:
    return f"{name}#{step:012d}"


# --- what ingestion keeps about a run's log besides its lines (dashboard/experiments/volume.py, patterns.py) ---

SEVERITY_LETTERS = {severity: severity[0] for severity in SEVERITIES}  # d i w e c: short attribute names
# A volume row counts the lines of one hour (per minute: slots 00–59) or of one day (per hour: 00–23),
# one counter per slot and severity, `c<slot><letter>` (`c07e`: errors of minute 7), absent = 0.
VOLUME_ATTRIBUTES = tuple(
    f"c{slot:02d}{letter}" for slot in range(60) for letter in SEVERITY_LETTERS.values()
)


class LogStat(DynamoModel):
    """Counters and mined state of run logs, written by ingestion in the transaction of the lines
    (volume) or right after it (patterns); never read by scanning lines.

    - volume rows: pk `vol#<run key>` (or `vol#<experiment key>`: every run of the experiment), sk
      `h#<hour start, epoch ms, 13 digits>` (per-minute counters) or `d#<day start>` (per-hour counters);
    - a run's pattern miner: pk `pat#<run key>`, sk `state`: the bounded Drain state as JSON, `rev` the
      conditional-write counter (two batches of one run at once never lose each other's patterns).
    """

    Meta = table_meta("experiment-log-stats")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    vars().update({name: NumberAttribute(null=True) for name in VOLUME_ATTRIBUTES})
    state = UnicodeAttribute(null=True)  # patterns: JSON (dashboard/experiments/patterns.py)
    rev = NumberAttribute(null=True)
    mined = NumberAttribute(null=True)  # patterns: lines mined so far
    expires_at = TTLAttribute(null=True)


class LogView(DynamoModel):
    """What people keep about an experiment's log viewer, shared with their tenant.

    - saved views: pk `view#<experiment key>`, sk `<name>`: `params`, the viewer's filters as its address has them;
    - the columns shown: pk `cols#<experiment key>`, sk `columns`: `columns`, field names in order.
    """

    Meta = table_meta("experiment-log-views")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    tenant_id = UnicodeAttribute()
    params = JSONAttribute(null=True)
    columns = JSONAttribute(null=True)
    created_by = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute()
