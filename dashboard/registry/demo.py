"""Demo datasets (schema, size, version), models and their versions, with deployments played through
the state machine."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from dashboard.core.ids import new_id
from dashboard.core.seeding import SeedContext
from dashboard.registry import approvals, lifecycle
from dashboard.registry.lifecycle import DEPLOYED, DEPLOYING, FAILED
from dashboard.registry.models import (
    ChangeRequest,
    Dataset,
    MlModel,
    RegistryPolicy,
    RegistryVersion,
    dataset_key,
)

MODEL_NAMES = [
    ("churn-classifier", "classification", "scikit-learn"),
    ("ticket-router", "classification", "transformers"),
    ("intent-detector", "classification", "pytorch"),
    ("lead-scorer", "regression", "xgboost"),
    ("fraud-scorer", "classification", "lightgbm"),
    ("doc-embedder", "embedding", "transformers"),
    ("answer-reranker", "ranking", "pytorch"),
    ("eta-regressor", "regression", "lightgbm"),
    ("reply-summariser", "generation", "transformers"),
    ("defect-detector", "detection", "pytorch"),
    ("sentiment-tagger", "classification", "onnx"),
    ("query-rewriter", "generation", "transformers"),
]
DATASET_NAMES = ["training set", "holdout set", "labelled feedback"]


@dataclass
class People:
    admin: str
    staff: str


def _metrics(rng: random.Random, task: str, progress: float) -> dict[str, float]:
    """Plausible figures that get better as versions go on, with noise."""
    quality = 0.78 + 0.16 * progress + rng.uniform(-0.025, 0.025)
    p50 = round(rng.uniform(8, 40) * (1.1 - 0.3 * progress), 1)
    common = {
        "latency_p50_ms": p50,
        "latency_p95_ms": round(p50 * rng.uniform(2.2, 3.6), 1),
        "throughput_rps": round(rng.uniform(150, 900) * (0.9 + 0.3 * progress)),
    }
    if task in ("classification", "detection"):
        precision = min(0.995, quality + rng.uniform(-0.02, 0.03))
        recall = min(0.995, quality + rng.uniform(-0.04, 0.02))
        return {
            "accuracy": round(min(0.995, quality), 4),
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(2 * precision * recall / (precision + recall), 4),
            **common,
        }
    if task == "regression":
        return {
            "rmse": round(12.5 * (1.2 - quality), 3),
            "mae": round(8.1 * (1.2 - quality), 3),
            "r2": round(quality - 0.05, 4),
            **common,
        }
    if task == "ranking":
        return {
            "ndcg@10": round(quality - 0.12, 4),
            "mrr": round(quality - 0.09, 4),
            "recall@100": round(min(0.99, quality + 0.05), 4),
            **common,
        }
    if task == "embedding":
        return {"recall@10": round(quality - 0.05, 4), "loss": round(1.4 * (1.05 - quality), 4), **common}
    return {
        "loss": round(2.6 * (1.1 - quality), 4),
        "eval_loss": round(2.8 * (1.1 - quality), 4),
        "rouge_l": round(quality - 0.42, 4),
        "latency_p50_ms": p50 * 6,
        "latency_p95_ms": round(p50 * 6 * rng.uniform(2, 3), 1),
        "throughput_tokens_s": round(rng.uniform(40, 120)),
    }


def _parameters(rng: random.Random, framework: str) -> dict:
    if framework in ("xgboost", "lightgbm"):
        return {
            "n_estimators": rng.choice([200, 400, 800]),
            "max_depth": rng.randrange(4, 10),
            "learning_rate": rng.choice([0.03, 0.05, 0.1]),
        }
    if framework == "scikit-learn":
        return {"C": rng.choice([0.1, 1.0, 10.0]), "penalty": "l2", "class_weight": "balanced"}
    return {
        "learning_rate": rng.choice([1e-5, 3e-5, 1e-4]),
        "epochs": rng.randrange(3, 20),
        "batch_size": rng.choice([16, 32, 64]),
        "warmup_steps": rng.choice([0, 100, 500]),
    }


def version_names(rng: random.Random, count: int, integer: bool) -> list[str]:
    if integer:
        return [str(n) for n in range(1, count + 1)]
    names, major, minor, patch = [], 1, 0, 0
    for _ in range(count):
        names.append(f"{major}.{minor}.{patch}")
        roll = rng.random()
        if roll < 0.15:
            major, minor, patch = major + 1, 0, 0
        elif roll < 0.7:
            minor, patch = minor + 1, 0
        else:
            patch += 1
    return names


def simulate_model(
    rng: random.Random,
    *,
    model_id: str,
    name: str,
    task: str,
    framework: str,
    tenant_id: str,
    project_id: str,
    dataset_ids: list[str],
    people: People,
    count: int,
    start: datetime,
    end: datetime,
    integer_versions: bool = False,
    leave_deploying: bool = False,
) -> tuple[MlModel, list[RegistryVersion]]:
    """A model whose versions went through dev, staging and production over [start, end]."""
    model = MlModel(
        model_id=model_id,
        project_id=project_id,
        tenant_id=tenant_id,
        name=name,
        task=task,
        description=f"{name.replace('-', ' ').capitalize()} ({task}) trained with {framework}.",
        created_by=people.admin,
        created_at=start,
        environments=lifecycle.empty_environments(),
    )
    step = (end - start) / (count * 5 + 1)
    clock = start
    items: list[RegistryVersion] = []
    by_version: dict[str, RegistryVersion] = {}

    def tick() -> datetime:
        nonlocal clock
        clock += step * rng.uniform(0.6, 1.4)
        return min(clock, end)

    def finish(version: RegistryVersion, ok: bool, by: str) -> bool:
        live = model.environments[version.stage].live
        previous = by_version.get(live) if live and live != version.version else None
        lifecycle.finish_deployment(
            model, version, DEPLOYED if ok else FAILED, previous=previous, by=by, at=tick()
        )
        return ok

    for index, name_ in enumerate(version_names(rng, count, integer_versions)):
        created = tick()
        version = RegistryVersion(
            model_id=model_id,
            version=name_,
            project_id=project_id,
            tenant_id=tenant_id,
            model_name=name,
            status=lifecycle.REGISTERED,
            framework=framework,
            artifact_uri=f"s3://diatonic-models-{tenant_id}/{name}/{name_}/model.tar.gz",
            dataset_id=(dataset_id := rng.choice(dataset_ids) if dataset_ids else None),
            dataset_key=dataset_key(tenant_id, dataset_id),
            parameters=_parameters(rng, framework),
            metrics=_metrics(rng, task, index / max(1, count - 1)),
            deployments=[],
            created_by=rng.choice([people.admin, people.staff]),
            created_at=created,
            updated_at=created,
        )
        items.append(version)
        by_version[name_] = version
        lifecycle.add_version(model, version, created)
        last = index == count - 1
        if last and leave_deploying:
            lifecycle.begin_deployment(model, version, "staging", by=people.admin, at=tick())
            continue
        if rng.random() < 0.15 and index > 0:
            continue  # some versions are never deployed
        lifecycle.begin_deployment(model, version, "dev", by=people.admin, at=tick())
        if not finish(version, rng.random() > 0.04, people.admin) or (last and rng.random() < 0.5):
            continue
        lifecycle.begin_deployment(model, version, "staging", by=people.admin, at=tick())
        if not finish(version, rng.random() > 0.06, people.admin) or last:
            continue
        if rng.random() < 0.65:
            lifecycle.begin_deployment(model, version, "production", by=people.staff, at=tick())
            if finish(version, rng.random() > 0.05, people.staff) and rng.random() < 0.15:
                restore = None
                entry = version.deployments[-1]
                if entry.previous:
                    restore = by_version.get(entry.previous)
                lifecycle.roll_back(model, version, restore=restore, by=people.staff, at=tick())
    # Old versions nobody runs any more get retired now and then.
    for version in items[:-3]:
        if version.status in (lifecycle.SUPERSEDED, lifecycle.ROLLED_BACK, FAILED) and rng.random() < 0.4:
            lifecycle.retire(model, version, by=people.staff, at=tick())
    lifecycle.refresh_summary(model, max(v.updated_at for v in items))
    # Batch writes carry no version condition: start the optimistic-lock counters at 1 by hand.
    for item in (model, *items):
        item.row_version = 1
    return model, items


# Columns per kind of demo dataset (the labels `seed.DATASET_NAMES` uses).
COLUMNS: dict[str, list[dict[str, str]]] = {
    "training set": [
        {"name": "example_id", "type": "string"},
        {"name": "text", "type": "string"},
        {"name": "label", "type": "category"},
        {"name": "split", "type": "category"},
        {"name": "created_at", "type": "timestamp"},
    ],
    "holdout set": [
        {"name": "example_id", "type": "string"},
        {"name": "text", "type": "string"},
        {"name": "label", "type": "category"},
    ],
    "labelled feedback": [
        {"name": "feedback_id", "type": "string"},
        {"name": "answer", "type": "string"},
        {"name": "rating", "type": "int"},
        {"name": "reviewer", "type": "string"},
        {"name": "reviewed_at", "type": "timestamp"},
    ],
}
FORMATS = ("parquet", "parquet", "jsonl", "csv")


def dataset_fields(rng: random.Random, label: str, index: int) -> dict[str, Any]:
    """The schema, size, format and version of one demo dataset."""
    return {
        "description": f"The project's {label}, refreshed with each labelling round.",
        "format": FORMATS[(index + rng.randrange(len(FORMATS))) % len(FORMATS)],
        "version": f"v{rng.randint(1, 6)}",
        "size_bytes": rng.randrange(20, 4000) * 1_000_000,
        "columns": COLUMNS.get(label, COLUMNS["training set"]),
    }


def seed(ctx: SeedContext) -> None:
    per_tenant = int(ctx.options.get("models") or 8)
    datasets, models, versions = [], [], []
    for tenant in ctx.tenants:
        tenant_id = tenant.tenant_id
        projects = ctx.projects.get(tenant_id, [])
        if not projects:
            continue
        people = People(
            admin=ctx.admins[tenant_id][0].email if ctx.admins.get(tenant_id) else "admin",
            staff=ctx.staff[0].email if ctx.staff else "staff",
        )
        dataset_ids: dict[str, list[str]] = {}
        for project in projects:
            for d_index, label in enumerate(DATASET_NAMES[: 2 + ctx.rng.randrange(2)]):
                dataset = Dataset(
                    dataset_id=f"dst_{project.project_id.removeprefix('prj_')}_{d_index + 1}",
                    project_id=project.project_id,
                    tenant_id=tenant_id,
                    name=f"{project.name} {label}",
                    uri=f"s3://diatonic-data-{tenant_id}/{project.project_id}/{d_index + 1}/",
                    rows=str(ctx.rng.randrange(5, 900) * 1000),
                    created_at=ctx.now - timedelta(days=ctx.rng.randrange(20, 100)),
                    **dataset_fields(ctx.rng, label, int(d_index)),
                )
                datasets.append(dataset)
                dataset_ids.setdefault(project.project_id, []).append(dataset.dataset_id)
        for m_index in range(per_tenant):
            project = projects[m_index % len(projects)]
            name, task, framework = MODEL_NAMES[m_index % len(MODEL_NAMES)]
            if m_index >= len(MODEL_NAMES):
                name = f"{name}-{m_index // len(MODEL_NAMES) + 1}"
            start = ctx.now - timedelta(days=ctx.rng.randrange(60, 120))
            model, items = simulate_model(
                ctx.rng,
                model_id=f"mdl_{tenant_id}_{m_index + 1}",
                name=name,
                task=task,
                framework=framework,
                tenant_id=tenant_id,
                project_id=project.project_id,
                dataset_ids=dataset_ids[project.project_id],
                people=people,
                count=ctx.rng.randint(3, 8),
                start=start,
                end=ctx.now - timedelta(hours=ctx.rng.randrange(1, 72)),
                integer_versions=m_index % 5 == 3,
                # One deployment in progress shows the list refreshing itself.
                leave_deploying=tenant_id == "acme" and m_index == 1,
            )
            models.append(model)
            versions.extend(items)
    ctx.write_all(Dataset, datasets)
    ctx.write_all(MlModel, models)
    ctx.write_all(RegistryVersion, versions, "model versions")
    _seed_governance(ctx, models, versions)


def _seed_governance(ctx: SeedContext, models: list[MlModel], versions: list[RegistryVersion]) -> None:
    """acme protects production and its champion alias, and one production deploy waits for approval."""
    tenant_id = "acme"
    if not ctx.admins.get(tenant_id):
        return
    waiting = ("registered", "superseded", "rolled_back")  # a version that could be asked for
    own_models = [m for m in models if m.tenant_id == tenant_id]
    model = next(
        (m for m in own_models if any(v.model_id == m.model_id and v.status in waiting for v in versions)),
        None,
    )
    if model is None:
        return
    RegistryPolicy(
        tenant_id=tenant_id,
        protected_environments=["production"],
        protected_aliases=["champion"],
        requesters=list(approvals.DEFAULT_REQUESTERS),
        expiry_hours=approvals.DEFAULT_EXPIRY_HOURS,
        updated_at=ctx.now,
        updated_by=ctx.admins[tenant_id][0].email,
    ).save()
    own = [v for v in versions if v.model_id == model.model_id]
    candidate = next(v for v in own if v.status in waiting)
    live = (model.environments or {}).get("production")
    current = live.live if live is not None else None
    replaced = next((v for v in own if v.version == current), None)
    evidence = {"candidate": {"version": candidate.version, "metrics": candidate.metrics or {}}}
    if replaced is not None:
        evidence["current"] = {"version": replaced.version, "metrics": replaced.metrics or {}}
    asker = ctx.admins[tenant_id][0]
    asked_at = ctx.now - timedelta(hours=3)
    ChangeRequest(
        tenant_id=tenant_id,
        request_id=new_id("chg"),
        model_id=model.model_id,
        model_name=model.name,
        kind=approvals.STATUS_KIND,
        version=candidate.version,
        to=DEPLOYING,
        environment="production",
        targets=["environment:production"],
        current=current,
        reason="Better on last week's holdout; ready for production.",
        state=approvals.OPEN,
        open_tenant=tenant_id,
        requested_by=asker.email,
        requested_by_id=asker.user_id,
        requested_role=asker.role,
        requested_at=asked_at,
        expires_at=asked_at + timedelta(hours=approvals.DEFAULT_EXPIRY_HOURS),
        evidence=evidence,
    ).save()
