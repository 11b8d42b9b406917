"""Datasets, models and the lab model registry (versions and their deployments)."""

from pynamodb.attributes import (
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from dashboard.dynamo.base import DynamoModel, table_meta


class DatasetsByProject(GlobalSecondaryIndex):
    class Meta:
        index_name = "project_id-created_at-index"
        projection = AllProjection()

    project_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class Dataset(DynamoModel):
    Meta = table_meta("datasets")
    dataset_id = UnicodeAttribute(hash_key=True)
    project_id = UnicodeAttribute()
    tenant_id = UnicodeAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    uri = UnicodeAttribute(default="")
    rows = UnicodeAttribute(null=True)  # the row count, as first stored (text)
    format = UnicodeAttribute(null=True)  # parquet | csv | jsonl | …
    version = UnicodeAttribute(null=True)  # the data's own version label ("v3", "2026-11-01")
    size_bytes = NumberAttribute(null=True)
    columns = JSONAttribute(null=True)  # the schema: [{"name": "ticket_id", "type": "string"}, …]
    created_at = UTCDateTimeAttribute()
    by_project = DatasetsByProject()


def dataset_key(tenant_id: str, dataset_id: str | None) -> str | None:
    """The key that lists the versions trained on a dataset, scoped by tenant like every client id."""
    return f"{tenant_id}#{dataset_id}" if dataset_id else None


class ModelsByProject(GlobalSecondaryIndex):
    class Meta:
        index_name = "project_id-created_at-index"
        projection = AllProjection()

    project_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class ModelsByTenant(GlobalSecondaryIndex):
    class Meta:
        index_name = "tenant_id-updated_at-index"
        projection = AllProjection()

    tenant_id = UnicodeAttribute(hash_key=True)
    updated_at = UTCDateTimeAttribute(range_key=True)


class ModelsByTenantStatus(GlobalSecondaryIndex):
    """`tenant_id#status`: the registry list filtered by status stays one query."""

    class Meta:
        index_name = "tenant_status-updated_at-index"
        projection = AllProjection()

    tenant_status = UnicodeAttribute(hash_key=True)
    updated_at = UTCDateTimeAttribute(range_key=True)


class ModelsByProjectStatus(GlobalSecondaryIndex):
    class Meta:
        index_name = "project_status-updated_at-index"
        projection = AllProjection()

    project_status = UnicodeAttribute(hash_key=True)
    updated_at = UTCDateTimeAttribute(range_key=True)


class ModelsByStatus(GlobalSecondaryIndex):
    """Staff looking at every tenant, filtered by status."""

    class Meta:
        index_name = "status-updated_at-index"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    updated_at = UTCDateTimeAttribute(range_key=True)


class ModelsEverywhere(GlobalSecondaryIndex):
    """Staff looking at every tenant: every model carries the constant `listing` = "model"."""

    class Meta:
        index_name = "listing-updated_at-index"
        projection = AllProjection()

    listing = UnicodeAttribute(hash_key=True)
    updated_at = UTCDateTimeAttribute(range_key=True)


class MlModel(DynamoModel):
    """The core `models` table: a model's identity; its versions live in the registry.

    It also carries the model's registry summary (latest version, what is live or deploying in each
    environment, headline status) so the registry list is one query, and its `row_version` makes it
    the lock every state change of the model's versions goes through.
    """

    Meta = table_meta("models")
    model_id = UnicodeAttribute(hash_key=True)
    project_id = UnicodeAttribute()
    tenant_id = UnicodeAttribute()
    name = UnicodeAttribute()
    task = UnicodeAttribute(default="")
    description = UnicodeAttribute(default="")
    created_by = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute(null=True)
    status = UnicodeAttribute(default="registered")
    tenant_status = UnicodeAttribute(null=True)
    project_status = UnicodeAttribute(null=True)
    listing = UnicodeAttribute(default="model")
    latest_version = UnicodeAttribute(null=True)
    latest_status = UnicodeAttribute(null=True)
    version_scheme = UnicodeAttribute(null=True)  # "integer" or "semver": a model keeps one
    version_count = NumberAttribute(default=0)
    # {"dev": {"live": "1.2.0", "since": iso, "by": label, "pending": "1.3.0", "failed": None}, ...}
    environments = JSONAttribute(null=True)
    # Free aliases beside the environments: {"champion": {"version": "1.2.0", "since": iso, "by": label}}.
    # Moved under `row_version` like every other change of the model, so two moves never interleave.
    aliases = JSONAttribute(null=True)
    row_version = VersionAttribute()
    by_project = ModelsByProject()
    by_tenant = ModelsByTenant()
    by_tenant_status = ModelsByTenantStatus()
    by_project_status = ModelsByProjectStatus()
    by_status = ModelsByStatus()
    everywhere = ModelsEverywhere()


class RegistryByProject(GlobalSecondaryIndex):
    class Meta:
        index_name = "project_id-updated_at-index"
        projection = AllProjection()

    project_id = UnicodeAttribute(hash_key=True)
    updated_at = UTCDateTimeAttribute(range_key=True)


class RegistryByStatus(GlobalSecondaryIndex):
    class Meta:
        index_name = "status-updated_at-index"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    updated_at = UTCDateTimeAttribute(range_key=True)


class RegistryByTenant(GlobalSecondaryIndex):
    class Meta:
        index_name = "tenant_id-updated_at-index"
        projection = AllProjection()

    tenant_id = UnicodeAttribute(hash_key=True)
    updated_at = UTCDateTimeAttribute(range_key=True)


class RegistryByEnvironment(GlobalSecondaryIndex):
    """Sparse: only a version live in an environment carries `environment`."""

    class Meta:
        index_name = "environment-deployed_at-index"
        projection = AllProjection()

    environment = UnicodeAttribute(hash_key=True)
    deployed_at = UTCDateTimeAttribute(range_key=True)


class RegistryByRun(GlobalSecondaryIndex):
    """Sparse: the versions an experiment run produced (`run_key` = tenant#experiment#run)."""

    class Meta:
        index_name = "run_key-created_at-index"
        projection = AllProjection()

    run_key = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class RegistryByDataset(GlobalSecondaryIndex):
    """Sparse: only versions that name the dataset they were trained on carry `dataset_key`."""

    class Meta:
        index_name = "dataset_id-index"
        projection = AllProjection()

    dataset_key = UnicodeAttribute(hash_key=True)


class RegistryVersion(DynamoModel):
    Meta = table_meta("lab-model-registry")
    model_id = UnicodeAttribute(hash_key=True)
    version = UnicodeAttribute(range_key=True)
    project_id = UnicodeAttribute()
    tenant_id = UnicodeAttribute()
    model_name = UnicodeAttribute()
    status = UnicodeAttribute(default="registered")
    framework = UnicodeAttribute(default="")
    artifact_uri = UnicodeAttribute(default="")
    dataset_id = UnicodeAttribute(null=True)
    # Lineage: the experiment run that produced the version (ids as the tenant chose them) and its
    # tenant-scoped key, which the sparse `by_run` index lists.
    experiment_id = UnicodeAttribute(null=True)
    run_id = UnicodeAttribute(null=True)
    run_key = UnicodeAttribute(null=True)
    dataset_key = UnicodeAttribute(null=True)  # `tenant#dataset` (dataset_key()), for by_dataset
    parameters = JSONAttribute(null=True)
    metrics = JSONAttribute(null=True)
    environment = UnicodeAttribute(null=True)
    deployed_at = UTCDateTimeAttribute(null=True)
    # The environment the current status is about (deploying to, failed in, rolled back from);
    # `environment` itself is only set while the version is live, so the sparse index lists live ones.
    stage = UnicodeAttribute(null=True)
    deployments = ListAttribute(null=True)  # history rows: {"at", "by", "environment", "from", "outcome"}
    created_by = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    row_version = VersionAttribute()
    by_project = RegistryByProject()
    by_status = RegistryByStatus()
    by_tenant = RegistryByTenant()
    by_environment = RegistryByEnvironment()
    by_run = RegistryByRun()
    by_dataset = RegistryByDataset()
