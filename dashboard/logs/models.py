"""Experiments, their runs, and the run logs (30-day TTL)."""

from pynamodb.attributes import (
    JSONAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from dashboard.dynamo.base import DynamoModel, table_meta

LOG_TTL_DAYS = 30
SEVERITIES = ("debug", "info", "warning", "error", "critical")
RUN_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")


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


class Experiment(DynamoModel):
    Meta = table_meta("experiments")
    experiment_id = UnicodeAttribute(hash_key=True)
    project_id = UnicodeAttribute()
    tenant_id = UnicodeAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    created_by = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    by_project = ExperimentsByProject()
    by_tenant = ExperimentsByTenant()


class RunsByStatus(GlobalSecondaryIndex):
    class Meta:
        index_name = "status-started_at-index"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    started_at = UTCDateTimeAttribute(range_key=True)


class ExperimentRun(DynamoModel):
    Meta = table_meta("experiment-runs")
    experiment_id = UnicodeAttribute(hash_key=True)
    run_id = UnicodeAttribute(range_key=True)
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
    by_status = RunsByStatus()


class LogsByExperiment(GlobalSecondaryIndex):
    class Meta:
        index_name = "experiment_id-sk-index"
        projection = AllProjection()

    experiment_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class LogsByComponent(GlobalSecondaryIndex):
    class Meta:
        index_name = "run_component-sk-index"
        projection = AllProjection()

    run_component = UnicodeAttribute(hash_key=True)  # run_id#component
    sk = UnicodeAttribute(range_key=True)


class LogsBySeverity(GlobalSecondaryIndex):
    class Meta:
        index_name = "run_severity-sk-index"
        projection = AllProjection()

    run_severity = UnicodeAttribute(hash_key=True)  # run_id#severity
    sk = UnicodeAttribute(range_key=True)


class LogsByTenant(GlobalSecondaryIndex):
    class Meta:
        index_name = "tenant_id-sk-index"
        projection = AllProjection()

    tenant_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class RunLogLine(DynamoModel):
    Meta = table_meta("experiment-run-logs")
    run_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)  # zero-padded ts_ms#seq: time order, insertion order on ties
    experiment_id = UnicodeAttribute()
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
