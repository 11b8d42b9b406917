"""Fixtures of the logs area: experiments, runs, an API key, and a line writer."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from django.test import Client

from dashboard.apikeys.services import create_key
from dashboard.core import clock
from dashboard.core.scope import API, STAFF, AccessScope
from dashboard.experiments import services
from dashboard.experiments.models import Experiment, ExperimentRun
from dashboard.flows.models import Project
from tests.conftest import unique

STAFF_SCOPE = AccessScope(role=STAFF, actor_id="usr_test_staff", actor_label="staff", tenant_id=None)


def api_scope(tenant_id: str) -> AccessScope:
    return AccessScope(role=API, actor_id="key_test", actor_label="API key test", tenant_id=tenant_id)


@pytest.fixture
def make_experiment(people) -> Callable[..., Experiment]:
    def make(tenant_id: str = "acme", name: str = "Learning-rate sweep") -> Experiment:
        now = clock.now()
        project = Project(
            project_id=unique("prj"), tenant_id=tenant_id, name="Vision", created_at=now, updated_at=now
        )
        project.save()
        return services.create_experiment(api_scope(tenant_id), project.project_id, name, "A test experiment")

    return make


@pytest.fixture
def make_run() -> Callable[..., ExperimentRun]:
    def make(experiment: Experiment, name: str = "run") -> ExperimentRun:
        return services.start_run(api_scope(experiment.tenant_id), experiment.experiment_id, name=name)

    return make


@pytest.fixture
def write() -> Callable[..., services.IngestResult]:
    """Write lines through the ingestion service: `write(run, [("info", "message", ts_ms, seq), …])`."""

    def write_lines(run: ExperimentRun, specs: list, component: str = "trainer") -> services.IngestResult:
        batch = []
        for spec in specs:
            severity, message, ts_ms, *rest = spec
            line = {
                "run_id": run.run_id,
                "ts": ts_ms,
                "severity": severity,
                "component": rest[1] if len(rest) > 1 else component,
                "message": message,
            }
            if rest and rest[0] is not None:
                line["seq"] = rest[0]
            batch.append(line)
        return services.ingest(api_scope(run.tenant_id), run.experiment_id, batch)

    return write_lines


@pytest.fixture(scope="session")
def api_tokens(people) -> dict[str, str]:
    return {
        tenant: create_key(STAFF_SCOPE, tenant, f"logs tests {tenant}").token for tenant in ("acme", "globex")
    }


class ApiClient:
    def __init__(self, token: str):
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"}

    def post(self, url: str, body) -> object:
        return self.client.post(url, json.dumps(body), content_type="application/json", headers=self.headers)

    def get(self, url: str, **params) -> object:
        return self.client.get(url, params, headers=self.headers)


@pytest.fixture
def acme_api(api_tokens) -> ApiClient:
    return ApiClient(api_tokens["acme"])


@pytest.fixture
def globex_api(api_tokens) -> ApiClient:
    return ApiClient(api_tokens["globex"])


@pytest.fixture
def base_ms() -> int:
    """A recent whole second, so tests can write lines with chosen, equal timestamps."""
    return (clock.epoch_ms() // 1000 - 600) * 1000
