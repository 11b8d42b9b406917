"""Datasets, models and the lab model registry (versions and their deployments)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pynamodb.attributes import (
    Attribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.constants import MAP, NULL, STRING
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


class EnvironmentState(MapAttribute):
    """Where one environment of a model stands (the same keys the JSON map had before it was typed).

    Timestamps stay ISO-8601 text as first stored; a UTCDateTimeAttribute would not read those.
    """

    live = UnicodeAttribute(null=True)  # the version live there
    since = UnicodeAttribute(null=True)  # when it went live
    by = UnicodeAttribute(null=True)  # who made it live
    pending = UnicodeAttribute(null=True)  # the version being deployed there
    pending_since = UnicodeAttribute(null=True)  # absent on deployments started before it was recorded
    failed = UnicodeAttribute(null=True)  # the version whose deployment there failed last
    # Display only: `lifecycle.mark_stalled` sets it on models in memory. A plain class attribute, not
    # an Attribute, so it is never stored.
    stalled = False


class AliasEntry(MapAttribute):
    """Where one alias of a model points, since when and who moved it there."""

    version = UnicodeAttribute()
    since = UnicodeAttribute(null=True)  # ISO-8601 text
    by = UnicodeAttribute(null=True)


class TypedMapAttribute(Attribute[dict[str, Any]]):
    """A map from free names (environments, alias names) to typed records (`of`, a MapAttribute class).

    In Python it is a plain dict of `of` instances (`model.aliases["champion"].version`); in DynamoDB a
    map of maps. It also reads the JSON text (`S`) the JSONAttribute it replaced stored, so items
    written before the records were typed still load; the next save stores them as a map (`M`).
    DynamoDB keeps no order in a map: names read back in `order`, then the others by name.
    """

    attr_type = MAP

    def __init__(self, of: type[MapAttribute], order: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.element_type = of
        self.order = order

    def _element(self) -> MapAttribute:
        element = self.element_type()
        element._make_attribute()  # an Attribute (serializer), not a container of values
        return element

    def get_value(self, value: dict[str, Any]) -> Any:
        if STRING in value:  # stored as JSON text by the JSONAttribute this replaced
            document = json.loads(value[STRING]) or {}
            # A raw MapAttribute puts the plain document in DynamoDB's wire form; the typed records
            # then read the fields they declare and leave the rest (as the old readers did).
            return MapAttribute().serialize(document)
        return super().get_value(value)

    def serialize(self, value: Mapping[str, Any]) -> dict[str, Any]:
        element = self._element()
        wire = {}
        for name, entry in value.items():
            if not isinstance(entry, self.element_type):
                raise ValueError(f"{self.attr_name}[{name!r}] must be a {self.element_type.__name__}")
            wire[name] = {MAP: element.serialize(entry)}
        return wire

    def deserialize(self, value: dict[str, Any]) -> dict[str, Any]:
        element = self._element()
        rank = {name: index for index, name in enumerate(self.order)}
        names = sorted(value, key=lambda name: (rank.get(name, len(rank)), name))
        return {
            name: element.deserialize(element.get_value(value[name]))
            for name in names
            if value[name] and NULL not in value[name]
        }


ENVIRONMENTS = ("dev", "staging", "production")  # in the order pages and the API list them


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
    # {"dev": EnvironmentState(live="1.2.0", since=iso, by=label, pending="1.3.0"), "staging": …}
    environments = TypedMapAttribute(of=EnvironmentState, order=ENVIRONMENTS, null=True)
    # Free aliases beside the environments: {"champion": AliasEntry(version="1.2.0", since=iso, by=label)}.
    # Moved under `row_version` like every other change of the model, so two moves never interleave.
    aliases = TypedMapAttribute(of=AliasEntry, null=True)
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


class DeploymentEntry(MapAttribute):
    """One row of a version's deployment history (the same maps as stored before it was typed).

    Written when a deployment starts (or a rollback restores the version, or it is retired) and
    completed in place as it finishes, ends or is rolled back. Timestamps are ISO-8601 text as first
    stored. The defaults are what the readers assumed for rows written before a key existed.
    """

    environment = UnicodeAttribute(null=True)  # none when a version that was never live is retired
    previous = UnicodeAttribute(attr_name="from", null=True)  # the version live there before
    by = UnicodeAttribute(default="")
    at = UnicodeAttribute(default="")
    outcome = UnicodeAttribute(default="")  # deploying, deployed, failed, rolled_back, retired
    kind = UnicodeAttribute(default="deploy")  # deploy, promote, rollback, retire
    promoted_from = UnicodeAttribute(null=True)  # a promotion: the environment it was live in
    reason = UnicodeAttribute(null=True)  # why the person started it
    finished_at = UnicodeAttribute(null=True)
    finished_by = UnicodeAttribute(null=True)
    finish_reason = UnicodeAttribute(null=True)
    ended_at = UnicodeAttribute(null=True)  # the version stopped being live there
    ended_by = UnicodeAttribute(null=True)
    moved_to = UnicodeAttribute(null=True)  # it ended because the version was promoted there
    replaced_by = UnicodeAttribute(null=True)  # it ended because this version went live there
    rollback_reason = UnicodeAttribute(null=True)
    approved_by = UnicodeAttribute(null=True)  # a protected change: who approved the request
    request_id = UnicodeAttribute(null=True)  # … and which request it was


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
    deployments = ListAttribute(of=DeploymentEntry, null=True)  # oldest first
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


# --- governance: protected targets and four-eyes change requests -----------------------------------


class RegistryPolicy(DynamoModel):
    """A tenant's governance of its registry: which environments and aliases are protected (a change
    to them becomes a change request another person approves), who may ask, and how long a request
    stays open. One item per tenant; absent = nothing protected."""

    Meta = table_meta("registry-policies")
    tenant_id = UnicodeAttribute(hash_key=True)
    protected_environments = ListAttribute(of=UnicodeAttribute, null=True)
    protected_aliases = ListAttribute(of=UnicodeAttribute, null=True)
    # Roles that may ask for a change to a protected target besides staff: tenant_admin, api.
    requesters = ListAttribute(of=UnicodeAttribute, null=True)
    expiry_hours = NumberAttribute(default=72)
    updated_at = UTCDateTimeAttribute(null=True)
    updated_by = UnicodeAttribute(null=True)
    row_version = VersionAttribute()


class OpenRequests(GlobalSecondaryIndex):
    """Sparse: only an open request carries `open_tenant` (its tenant), so the queue is one Query."""

    class Meta:
        index_name = "open_tenant-requested_at-index"
        projection = AllProjection()

    open_tenant = UnicodeAttribute(hash_key=True)
    requested_at = UTCDateTimeAttribute(range_key=True)


class ChangeRequest(DynamoModel):
    """A change to a protected environment or alias, waiting for (or decided by) a second person.

    `request_id` is a ULID, so the tenant's requests read newest first on the table's own key. What
    was asked is kept as asked (`kind` status: move `version` to `to` in `environment`; kind alias:
    point `alias` at `version`), with what the target held when it was asked (`current`) and the
    evidence shown to the approver (`evidence`: both versions' metrics and the cost impact).
    """

    Meta = table_meta("registry-change-requests")
    tenant_id = UnicodeAttribute(hash_key=True)
    request_id = UnicodeAttribute(range_key=True)
    model_id = UnicodeAttribute()
    model_name = UnicodeAttribute()
    kind = UnicodeAttribute()  # "status" or "alias"
    version = UnicodeAttribute()
    to = UnicodeAttribute(null=True)  # the status asked for (kind status)
    environment = UnicodeAttribute(null=True)
    alias = UnicodeAttribute(null=True)
    vacate = UnicodeAttribute(null=True)  # "1": a promotion into production also leaves the source
    targets = ListAttribute(of=UnicodeAttribute)  # the protected targets it touches: "environment:production"
    current = UnicodeAttribute(null=True)  # the version the target held when it was asked
    reason = UnicodeAttribute()
    state = UnicodeAttribute(default="open")  # open, approved, rejected, expired, obsolete
    open_tenant = UnicodeAttribute(null=True)
    requested_by = UnicodeAttribute()
    requested_by_id = UnicodeAttribute()
    requested_role = UnicodeAttribute()
    requested_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute()
    decided_by = UnicodeAttribute(null=True)
    decided_by_id = UnicodeAttribute(null=True)
    decided_at = UTCDateTimeAttribute(null=True)
    decision_reason = UnicodeAttribute(null=True)
    outcome = UnicodeAttribute(null=True)  # what applying it did, or why it could not be applied
    evidence = JSONAttribute(null=True)
    row_version = VersionAttribute()
    open_requests = OpenRequests()
