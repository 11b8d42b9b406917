"""Registry fixtures: projects, scopes and models registered through the real services."""

from __future__ import annotations

import pytest

from dashboard.accounts.access import scope_for_user
from dashboard.core import clock
from dashboard.flows.models import Project
from dashboard.registry import queries, services
from dashboard.registry.models import Dataset
from tests.conftest import unique


def version_data(version: str = "1.0.0", **extra) -> dict:
    data = {
        "version": version,
        "framework": "pytorch",
        "artifact_uri": f"s3://models/test/{version}/model.pt",
        "metrics": {"accuracy": 0.9, "latency_p95_ms": 41.5},
        "parameters": {"epochs": 10},
    }
    data.update(extra)
    return data


def make_project(tenant_id: str, name: str = "Vision") -> Project:
    now = clock.now()
    project = Project(
        project_id=unique("prj"), tenant_id=tenant_id, name=name, created_at=now, updated_at=now
    )
    project.save()
    return project


def make_dataset(project: Project, name: str = "training set") -> Dataset:
    dataset = Dataset(
        dataset_id=unique("dst"),
        project_id=project.project_id,
        tenant_id=project.tenant_id,
        name=name,
        created_at=clock.now(),
    )
    dataset.save()
    return dataset


@pytest.fixture
def scopes(people):
    return {
        "acme": scope_for_user(people["admin of acme"]),
        "globex": scope_for_user(people["admin of globex"]),
        "staff": scope_for_user(people["staff"]),
        "staff@acme": scope_for_user(people["staff"], "acme"),
        "moderator": scope_for_user(people["moderator"]),
    }


@pytest.fixture
def acme_project(people) -> Project:
    return make_project("acme")


@pytest.fixture
def register(scopes, acme_project):
    """`register(name, versions=[...], scope=..., project=...)` → the model, with its versions registered."""

    def create(name: str | None = None, versions=("1.0.0",), scope=None, project=None, **first):
        scope = scope or scopes["acme"]
        project = project or acme_project
        model, _ = services.register_model(
            scope,
            {
                "name": name or unique("model"),
                "project_id": project.project_id,
                "task": "classification",
                **version_data(versions[0], **first),
            },
        )
        for number, version in enumerate(versions[1:], start=1):
            services.register_version(
                scope, model.model_id, version_data(version, metrics={"accuracy": 0.9 + number / 100})
            )
        return queries.get_model(scope, model.model_id, consistent=True)

    return create
