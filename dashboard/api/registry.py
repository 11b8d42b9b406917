"""JSON API endpoints of the registry area (thin: they call dashboard.registry.services)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import path

from dashboard.api.auth import api_view, read_json
from dashboard.core import converters  # noqa: F401 — registers <key:…>
from dashboard.core.errors import DashboardError
from dashboard.core.http import limit_param
from dashboard.registry import services
from dashboard.registry.models import MlModel, RegistryVersion

MAX_LIMIT = 100


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def model_json(model: MlModel) -> dict[str, Any]:
    return {
        "model_id": model.model_id,
        "name": model.name,
        "tenant_id": model.tenant_id,
        "project_id": model.project_id,
        "task": model.task,
        "status": model.status,
        "latest_version": model.latest_version,
        "version_count": int(model.version_count or 0),
        "environments": {
            env: {key: state.get(key) for key in ("live", "pending", "failed", "since")}
            for env, state in (model.environments or {}).items()
        },
        "updated_at": _iso(model.updated_at),
    }


def version_json(version: RegistryVersion) -> dict[str, Any]:
    return {
        "model_id": version.model_id,
        "version": version.version,
        "status": version.status,
        "environment": version.environment,
        "stage": version.stage,
        "framework": version.framework,
        "artifact_uri": version.artifact_uri,
        "dataset_id": version.dataset_id,
        "parameters": version.parameters or {},
        "metrics": version.metrics or {},
        "created_by": version.created_by,
        "created_at": _iso(version.created_at),
        "deployed_at": _iso(version.deployed_at),
    }


def _object_body(request: HttpRequest) -> dict[str, Any]:
    body = read_json(request)
    if not isinstance(body, dict):
        raise DashboardError("The body must be a JSON object.", {"body": "not an object"})
    return body


@api_view(["GET", "POST"])
def registry(request: HttpRequest):
    """GET: the key's models (`project`, `status`, `cursor`). POST: a new model, or a version of `model_id`."""
    if request.method == "GET":
        page = services.list_models(
            request.scope,
            project_id=request.GET.get("project") or None,
            status=request.GET.get("status") or None,
            cursor=request.GET.get("cursor") or None,
            limit=limit_param(request, services.PAGE_SIZE, MAX_LIMIT),
        )
        return {"items": [model_json(model) for model in page], "next_cursor": page.next_cursor}
    body = _object_body(request)
    if body.get("model_id"):
        version = services.register_version(request.scope, str(body["model_id"]), body)
        model = services.get_model(request.scope, version.model_id, consistent=True)
    else:
        model, version = services.register_model(request.scope, body)
    return JsonResponse({"model": model_json(model), "version": version_json(version)}, status=201)


@api_view(["PUT"])
def deploy(request: HttpRequest, model_id: str):
    """Move a version: body {"version", "environment", "status"} with status deploying, deployed,
    failed, rolled_back or retired."""
    body = _object_body(request)
    missing = {key: "This field is required." for key in ("version", "status") if not body.get(key)}
    if missing:
        raise DashboardError("Send the version and the status to move it to.", missing)
    change = services.change_status(
        request.scope,
        model_id,
        str(body["version"]),
        str(body["status"]),
        str(body["environment"]) if body.get("environment") else None,
    )
    return {
        "message": change.message,
        "model": model_json(change.model),
        "version": version_json(change.version),
    }


@api_view(["GET"])
def metrics(request: HttpRequest, model_id: str):
    """Metrics per version (oldest first), or one `metric` across versions."""
    model = services.get_model(request.scope, model_id)
    items = services.model_versions(model)
    metric = request.GET.get("metric")
    if metric:
        return {"model_id": model.model_id, "metric": metric, "series": services.metric_series(items, metric)}
    return {
        "model_id": model.model_id,
        "metrics": services.metric_names(items),
        "versions": [
            {"version": item.version, "status": item.status, "metrics": item.metrics or {}}
            for item in reversed(items)
        ],
    }


urlpatterns = [
    path("models/registry", registry, name="registry_models"),
    path("models/<key:model_id>/deploy", deploy, name="registry_deploy"),
    path("models/<key:model_id>/metrics", metrics, name="registry_metrics"),
]
