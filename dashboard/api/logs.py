"""JSON API endpoints of the logs area (thin: they call dashboard.experiments services).

GET  /api/experiments                           the tenant's experiments, newest first (cursor)
POST /api/experiments                           create one: {"project_id", "name", "description"?, "experiment_id"?}
POST /api/experiments/{id}/logs                 one line or a batch of up to 500 (idempotent)
GET  /api/experiments/{id}/logs                 the experiment's lines (filters, signed cursor)
GET  /api/experiments/{id}/runs/{run_id}/logs   one run's lines after a position (filters)
POST /api/experiments/{id}/runs                 start a run (a client-chosen run_id makes it retry-safe)
POST /api/experiments/{id}/runs/{run_id}        finish a run: {"status": "succeeded" | "failed" | "cancelled"}
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path

from dashboard.api.auth import api_view, read_json
from dashboard.core.errors import ValidationFailed
from dashboard.experiments import lines, queries, services
from dashboard.experiments.inputs import LogFilters

EXPERIMENTS_PAGE_MAX = 50  # each experiment brings a query for its recent runs


def _limit(request: HttpRequest, default: int = 200, most: int = queries.MAX_WINDOW) -> int:
    raw = request.GET.get("limit", str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= most:
        raise ValidationFailed(f"limit must be a whole number from 1 to {most}.", {"limit": f"1–{most}"})
    return int(raw)


def _run_dict(run) -> dict:
    return {
        "experiment_id": run.experiment_id,
        "run_id": run.run_id,
        "name": run.name,
        "status": run.status,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "line_count": int(run.line_count or 0),
        "error_count": int(run.error_count or 0),
        "warning_count": int(run.warning_count or 0),
    }


def _experiment_dict(experiment) -> dict:
    return {
        "experiment_id": experiment.experiment_id,
        "project_id": experiment.project_id,
        "name": experiment.name,
        "description": experiment.description or "",
        "created_at": experiment.created_at.isoformat(),
    }


@api_view(["GET", "POST"])
def experiments_endpoint(request: HttpRequest):
    if request.method == "POST":
        body = read_json(request)
        if not isinstance(body, dict):
            raise ValidationFailed("Send a JSON object.", {"body": "an object"})
        experiment = services.create_experiment(
            request.scope,
            body.get("project_id"),
            body.get("name"),
            body.get("description") or "",
            experiment_id=body.get("experiment_id"),
        )
        return JsonResponse(_experiment_dict(experiment), status=201)
    page = queries.list_experiments(
        request.scope, cursor=request.GET.get("cursor"), limit=_limit(request, 20, EXPERIMENTS_PAGE_MAX)
    )
    return {
        "experiments": [
            {**_experiment_dict(s.experiment), "recent_runs": [_run_dict(run) for run in s.runs]}
            for s in page.items
        ],
        "next_cursor": page.next_cursor,
    }


@api_view(["GET", "POST"])
def experiment_logs_endpoint(request: HttpRequest, experiment_id: str):
    if request.method == "POST":
        result = services.ingest(request.scope, experiment_id, read_json(request))
        body = {"accepted": result.accepted, "written": result.written, "duplicates": result.duplicates}
        return JsonResponse(body, status=201 if result.written else 200)
    filters = LogFilters.from_params(request.GET)
    page = queries.list_lines(
        request.scope,
        experiment_id,
        filters,
        run_id=request.GET.get("run_id") or None,
        cursor=request.GET.get("cursor"),
        limit=_limit(request, 100),
    )
    return {"lines": [lines.as_dict(line) for line in page.items], "next_cursor": page.next_cursor}


@api_view(["GET"])
def run_logs_endpoint(request: HttpRequest, experiment_id: str, run_id: str):
    filters = LogFilters.from_params(request.GET)
    run, window = queries.lines_after(
        request.scope, experiment_id, run_id, filters, after=request.GET.get("after"), limit=_limit(request)
    )
    return {
        "run": _run_dict(run),
        "lines": [lines.as_dict(line) for line in window.lines],
        "after": window.position,
        "more": not window.complete,
    }


@api_view(["POST"])
def runs_endpoint(request: HttpRequest, experiment_id: str):
    body = read_json(request)
    if not isinstance(body, dict):
        raise ValidationFailed("Send a JSON object.", {"body": "an object"})
    run = services.start_run(
        request.scope,
        experiment_id,
        name=str(body.get("name") or ""),
        parameters=body.get("parameters"),
        run_id=body.get("run_id"),
    )
    return JsonResponse(_run_dict(run), status=201)


@api_view(["POST"])
def run_endpoint(request: HttpRequest, experiment_id: str, run_id: str):
    body = read_json(request)
    status = body.get("status") if isinstance(body, dict) else None
    run = services.finish_run(request.scope, experiment_id, run_id, str(status or ""))
    return _run_dict(run)


urlpatterns = [
    path("experiments", experiments_endpoint, name="experiments"),
    path("experiments/<str:experiment_id>/logs", experiment_logs_endpoint, name="experiment_logs"),
    path("experiments/<str:experiment_id>/runs", runs_endpoint, name="experiment_runs"),
    path("experiments/<str:experiment_id>/runs/<str:run_id>", run_endpoint, name="experiment_run"),
    path("experiments/<str:experiment_id>/runs/<str:run_id>/logs", run_logs_endpoint, name="run_logs"),
]
