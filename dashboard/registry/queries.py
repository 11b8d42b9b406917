"""The registry's read access patterns that pages and other areas use (they never import
registry.models): datasets, the versions trained on each, and the versions a run produced. Key and GSI
queries only."""

from __future__ import annotations

from functools import partial
from typing import Any

from dashboard.accounts.queries import get_in_scope
from dashboard.accounts.scope import AccessScope, Can
from dashboard.dynamo.paging import Page, paginate
from dashboard.flows import services as flows
from dashboard.registry.models import Dataset, RegistryVersion, dataset_key

DATASETS_PER_PROJECT = 50
MAX_PROJECTS = 50


def versions_trained_on(
    tenant_id: str, dataset_id: str, *, cursor: str | None = None, limit: int = 25
) -> Page[RegistryVersion]:
    """The tenant's model versions that name `dataset_id` as their training data (the sparse
    `dataset_id-index`, keyed `tenant#dataset`: one query a page, whatever the registry holds)."""
    query = partial(RegistryVersion.by_dataset.query, dataset_key(tenant_id, dataset_id))
    return paginate(query, purpose=f"registry:dataset:{tenant_id}:{dataset_id}", limit=limit, cursor=cursor)


def get_dataset(scope: AccessScope, dataset_id: str) -> Dataset:
    scope.require(Can.TENANT_DATA)
    return get_in_scope(scope, Dataset, dataset_id, what="That dataset")


def datasets_by_project(scope: AccessScope) -> list[tuple[Any, list[Dataset]]]:
    """(project, datasets) pairs: the scope's tenant's projects (most recently active first, capped), each with its newest datasets:
    one query for the projects and one per project."""
    scope.require(Can.TENANT_DATA)
    projects = flows.list_projects(scope, limit=MAX_PROJECTS).items
    grouped = []
    for project in sorted(projects, key=lambda project: project.name.lower()):
        datasets = Dataset.by_project.query(
            project.project_id, scan_index_forward=False, limit=DATASETS_PER_PROJECT
        )
        grouped.append((project, list(datasets)))
    return grouped


MAX_LINEAGE = 50  # versions listed on a run's page: one Query on the sparse run index


def run_key(tenant_id: str, experiment_id: str, run_id: str) -> str:
    """The same tenant-scoped key the experiments area gives the run."""
    return f"{tenant_id}#{experiment_id}#{run_id}"


def versions_from_run(tenant_id: str, experiment_id: str, run_id: str) -> list[RegistryVersion]:
    """The model versions registered as produced by this run, newest first (one Query, no scan)."""
    return list(
        RegistryVersion.by_run.query(
            run_key(tenant_id, experiment_id, run_id), scan_index_forward=False, limit=MAX_LINEAGE
        )
    )
