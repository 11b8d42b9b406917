"""JSON API of the analytics area: record and list an agent's runs, read the cost overview.

POST /api/agents/<agent_id>/runs   one run (object) or {"runs": [...]} (≤ 25); 201 when anything new
                                   was recorded, 200 when every run was already recorded.
GET  /api/agents/<agent_id>/runs   newest first; status (or any-failure), user, model, start, end (dates),
                                   cursor, limit.
GET  /api/analytics/execution      the overview's figures: period=7|30|90|month|last-month or start&end
                                   (`previous_period` says what the changes compare with).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from django.http import HttpRequest, JsonResponse
from django.urls import path
from pydantic import BaseModel, ConfigDict, Discriminator, Field, RootModel, Tag

from dashboard.alerts.evaluation import check_after_ingest as check_alerts
from dashboard.analytics import overview, pricing, queries, services
from dashboard.analytics.forms import ExecutionFilterForm, period_from
from dashboard.analytics.inputs import ANY_FAILURE
from dashboard.api.auth import api_view, read_json
from dashboard.api.spec import Operation, Query, Strict

MAX_LIMIT = 100
Id = Annotated[str, Field(pattern=services.ID_PATTERN)]
Moment = Annotated[str, Field(min_length=10, max_length=40, examples=["2026-11-30T12:00:00Z"])]
Count = Annotated[int, Field(ge=0, le=100_000_000)]

if TYPE_CHECKING:
    from dashboard.analytics.models import Execution


class RunIn(Strict):
    """One agent run. `execution_id` is the client's: sending the same id again records nothing new."""

    model_config = ConfigDict(strict=True, extra="forbid")
    execution_id: Id = Field(
        description="Client-chosen and idempotent: a retry with the same id counts once."
    )
    user_id: Id
    model: Id
    status: Literal[services.EXECUTION_STATUSES]  # type: ignore[valid-type]
    started_at: Moment
    finished_at: Moment | None = None
    duration_ms: int = Field(default=0, ge=0, le=86_400_000)
    input: str = ""
    output: str = ""
    tokens_in: Count = Field(default=0, description="Every input token, cached ones included.")
    tokens_out: Count = Field(default=0, description="Every output token, reasoning included.")
    tokens_cache_read: Count = Field(
        default=0, description="Input tokens read from the cache (part of tokens_in)."
    )
    tokens_cache_write: Count = Field(
        default=0, description="Input tokens written to the cache (part of tokens_in)."
    )
    tokens_reasoning: Count = Field(default=0, description="Reasoning tokens (part of tokens_out).")
    provider: str | None = Field(
        default=None,
        max_length=64,
        description="The provider (openai, anthropic, aws.bedrock, …): helps price the model.",
    )
    cost_micro_usd: int = Field(
        default=0,
        ge=0,
        le=1_000_000_000_000,
        description="Send only to override the price: kept as sent and labelled as the client's.",
    )
    error: str | None = None


class RunBatch(Strict):
    model_config = ConfigDict(strict=True, extra="forbid")
    runs: list[RunIn] = Field(min_length=1, max_length=services.BATCH_LIMIT)


def _shape(value: Any) -> str:
    return "~batch" if isinstance(value, dict) and "runs" in value else "~one"


class RunsIn(RootModel):
    """One run, or `{"runs": [...]}` with up to 25; nothing is recorded when any run is invalid."""

    root: Annotated[Annotated[RunIn, Tag("~one")] | Annotated[RunBatch, Tag("~batch")], Discriminator(_shape)]


class RunOutcome(BaseModel):
    execution_id: str
    result: Literal["recorded", "already_recorded"]
    cost_micro_usd: int
    started_at: str


class RunsRecorded(BaseModel):
    """What was recorded: each run's outcome, in the order sent."""

    recorded: int
    already_recorded: int
    runs: list[RunOutcome]


class ExecutionOut(BaseModel):
    execution_id: str
    agent_id: str
    user_id: str
    model: str
    status: str
    started_at: str
    finished_at: str | None
    duration_ms: int
    tokens_in: int
    tokens_out: int
    tokens_cache_read: int
    tokens_cache_write: int
    tokens_reasoning: int
    provider: str | None
    cost_micro_usd: int
    price_source: Literal[pricing.SOURCES]  # type: ignore[valid-type]
    input: str | None
    output: str | None
    truncated: bool | None
    error: str | None


class RunsPage(BaseModel):
    """One page of runs, newest first; pass `next_cursor` as `cursor` for the next (null: the last)."""

    runs: list[ExecutionOut]
    next_cursor: str | None


class RunsQuery(Query):
    status: Literal[(*services.EXECUTION_STATUSES, ANY_FAILURE)] | None = None  # type: ignore[valid-type]
    user: str | None = Field(default=None, max_length=128)
    model: str | None = Field(default=None, max_length=128)
    start: str | None = Field(default=None, description="A date, YYYY-MM-DD.", pattern=r"^\d{4}-\d{2}-\d{2}$")
    end: str | None = Field(default=None, description="A date, YYYY-MM-DD.", pattern=r"^\d{4}-\d{2}-\d{2}$")
    cursor: str | None = Field(default=None, description="The `next_cursor` of the previous page.")
    limit: int | None = Field(default=None, ge=1, le=MAX_LIMIT)


class OverviewQuery(Query):
    period: Literal["7", "30", "90", "month", "last-month"] | None = Field(
        default=None,
        description="`month`: this month so far, compared with the same days of the previous month; "
        "`last-month`: the whole previous month, compared with the whole month before it.",
    )
    start: str | None = Field(default=None, description="A date, YYYY-MM-DD.", pattern=r"^\d{4}-\d{2}-\d{2}$")
    end: str | None = Field(default=None, description="A date, YYYY-MM-DD.", pattern=r"^\d{4}-\d{2}-\d{2}$")


class Overview(BaseModel):
    """The cost overview's figures for the period and the one before it."""

    model_config = ConfigDict(extra="allow")
    tenant_id: str | None
    period: dict[str, Any]
    previous_period: dict[str, Any]


RUN_EXAMPLE = {
    "execution_id": "exe-2026-11-30-0001",
    "user_id": "user-42",
    "model": "gpt-4o-mini",
    "status": "succeeded",
    "started_at": "2026-11-30T12:00:00Z",
    "duration_ms": 1800,
    "tokens_in": 2000,
    "tokens_out": 1000,
}
RUNS = {
    "GET": Operation(
        "List an agent's runs",
        {200: RunsPage},
        query=RunsQuery,
        tags=["analytics"],
    ),
    "POST": Operation(
        "Record runs of an agent",
        {201: RunsRecorded, 200: "Every run was already recorded (nothing counted again)."},
        description="Idempotent by `execution_id`: a retried batch counts each run once "
        "(200 when nothing new was recorded).",
        body=RunsIn,
        body_example=RUN_EXAMPLE,
        tags=["analytics"],
    ),
}


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
        "tokens_cache_read": int(execution.tokens_cache_read or 0),
        "tokens_cache_write": int(execution.tokens_cache_write or 0),
        "tokens_reasoning": int(execution.tokens_reasoning or 0),
        "provider": execution.provider,
        "cost_micro_usd": int(execution.cost_micro_usd),
        "price_source": execution.price_source or "catalogue",
        "input": execution.input,
        "output": execution.output,
        "truncated": execution.truncated,
        "error": execution.error,
    }


@api_view(RUNS)
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
    page = queries.list_executions(
        request.scope,
        filters,
        cursor=request.GET.get("cursor"),
        limit=request.api_query.limit or queries.PAGE_SIZE,
    )
    return {"runs": [execution_json(execution) for execution in page], "next_cursor": page.next_cursor}


@api_view({"GET": Operation("The cost overview", {200: Overview}, query=OverviewQuery, tags=["analytics"])})
def execution_overview(request: HttpRequest):
    period, _ = period_from(request.GET)
    return overview.build(request.scope, period).as_dict()


urlpatterns = [
    path("agents/<str:agent_id>/runs", runs, name="agent_runs"),
    path("analytics/execution", execution_overview, name="analytics_execution"),
]
