"""The registry's read access patterns that other areas use (they never import registry.models)."""

from __future__ import annotations

from dashboard.registry.models import RegistryVersion

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
