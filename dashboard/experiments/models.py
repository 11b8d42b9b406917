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
