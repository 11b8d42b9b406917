"""JSON API of the analytics area: record and list an agent's runs, read the cost overview.

POST /api/agents/<agent_id>/runs   one run (object) or {"runs": [...]} (≤ 25); 201 when anything new
                                   was recorded, 200 when every run was already recorded.
GET  /api/agents/<agent_id>/runs   newest first; status, user, model, start, end (dates), cursor, limit.
GET  /api/analytics/execution      the overview's figures: period=7|30|90 or start&end.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path

from dashboard.alerts.evaluation import check_after_ingest as check_alerts
from dashboard.analytics import history, overview, services
from dashboard.analytics.forms import ExecutionFilterForm, period_from
from dashboard.analytics.models import Execution
from dashboard.api.auth import api_view, read_json
from dashboard.core.errors import ValidationFailed

MAX_LIMIT = 100


def execution_json(execution: Execution) -> dict:
    return {
        "execution_id": execution.execution_id,
        "agent_id": execution.agent_id,
        "user_id": execution.user_id,
        "model": execution.model,
        "status": execution.status,
        "started_at": execution.started_at,
        "finished_at": execution.finished_at,
        "duration_ms": int(execution.duration_ms),
        "tokens_in": int(execution.tokens_in),
        "tokens_out": int(execution.tokens_out),
        "cost_micro_usd": int(execution.cost_micro_usd),
        "input": execution.input,
        "output": execution.output,
        "truncated": execution.truncated,
        "error": execution.error,
    }


def _limit(raw: str | None) -> int:
    if raw in (None, ""):
        return history.PAGE_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ValidationFailed("The limit is not valid.", {"limit": f"A whole number from 1 to {MAX_LIMIT}."})
    return int(raw)


@api_view(["GET", "POST"])
def runs(request: HttpRequest, agent_id: str):
    if request.method == "POST":
        outcomes = services.record_runs(request.scope, agent_id, read_json(request))
        recorded = sum(1 for outcome in outcomes if outcome.recorded)
        if recorded:
            check_alerts(request.scope.tenant_id)  # claims make concurrent checks fire once
        body = {
            "recorded": recorded,
            "already_recorded": len(outcomes) - recorded,
            "runs": [outcome.as_dict() for outcome in outcomes],
        }
        return JsonResponse(body, status=201 if recorded else 200)
    form = ExecutionFilterForm(request.GET)
    filters = form.filters(agent_id=agent_id)
    page = history.list_executions(
        request.scope, filters, cursor=request.GET.get("cursor"), limit=_limit(request.GET.get("limit"))
    )
    return {"runs": [execution_json(execution) for execution in page], "next_cursor": page.next_cursor}


@api_view(["GET"])
def execution_overview(request: HttpRequest):
    period, _ = period_from(request.GET)
    return overview.build(request.scope, period).as_dict()


urlpatterns = [
    path("agents/<str:agent_id>/runs", runs, name="agent_runs"),
    path("analytics/execution", execution_overview, name="analytics_execution"),
]
