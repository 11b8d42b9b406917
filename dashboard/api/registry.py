"""JSON API endpoints of the registry area (thin: they call dashboard.registry.services and queries)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from django.http import HttpRequest
from django.urls import path
from pydantic import BaseModel, ConfigDict, Field

from dashboard.api.auth import Answer, api_view, created
from dashboard.api.operations import Operation, Query, Strict
from dashboard.core import clock
from dashboard.core.http import limit_param
from dashboard.registry import approvals, queries, services
from dashboard.registry.inputs import FRAMEWORKS, RegisterIn
from dashboard.registry.lifecycle import ENVIRONMENTS, STATUSES

MAX_LIMIT = 100

if TYPE_CHECKING:
    from dashboard.registry.models import ChangeRequest, MlModel, RegistryVersion


class DeployIn(Strict):
    model_config = ConfigDict(strict=True, extra="allow")
    version: str = Field(min_length=1, max_length=64)
    status: Literal["deploying", "deployed", "failed", "rolled_back", "retired"]
    environment: Literal[ENVIRONMENTS] | None = None  # type: ignore[valid-type]
    reason: str | None = Field(default=None, max_length=500)  # recorded in the audit trail and history
    vacate: bool = Field(
        default=False,
        description="Promoting into production: also take the version out of where it is live now "
        "(by default staging keeps serving it).",
    )


class EnvironmentOut(BaseModel):
    """Where one environment stands: the version live there (since when), deploying there, failed last."""

    live: str | None
    pending: str | None
    failed: str | None
    since: str | None


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


class ModelOut(BaseModel):
    model_id: str
    name: str
    tenant_id: str | None
    project_id: str | None
    task: str | None
    status: str | None
    latest_version: str | None
    version_count: int
    environments: dict[str, EnvironmentOut]  # dev, staging, production
    updated_at: str | None

    @classmethod
    def of(cls, model: MlModel) -> ModelOut:
        return cls(
            model_id=model.model_id,
            name=model.name,
            tenant_id=model.tenant_id,
            project_id=model.project_id,
            task=model.task,
            status=model.status,
            latest_version=model.latest_version,
            version_count=int(model.version_count or 0),
            environments={
                env: EnvironmentOut(
                    live=state.live, pending=state.pending, failed=state.failed, since=state.since
                )
                for env, state in (model.environments or {}).items()
            },
            updated_at=_iso(model.updated_at),
        )


class VersionOut(BaseModel):
    model_id: str
    version: str
    status: Literal[STATUSES]  # type: ignore[valid-type]
    environment: str | None
    stage: str | None
    framework: str | None
    artifact_uri: str | None
    dataset_id: str | None
    experiment_id: str | None
    run_id: str | None
    parameters: dict[str, Any]
    metrics: dict[str, Any]
    created_by: str | None
    created_at: str | None
    deployed_at: str | None

    @classmethod
    def of(cls, version: RegistryVersion) -> VersionOut:
        return cls(
            model_id=version.model_id,
            version=version.version,
            status=version.status,
            environment=version.environment,
            stage=version.stage,
            framework=version.framework,
            artifact_uri=version.artifact_uri,
            dataset_id=version.dataset_id,
            experiment_id=version.experiment_id,
            run_id=version.run_id,
            parameters=version.parameters or {},
            metrics=version.metrics or {},
            created_by=version.created_by,
            created_at=_iso(version.created_at),
            deployed_at=_iso(version.deployed_at),
        )


class ModelPage(BaseModel):
    """One page of models; pass `next_cursor` as `cursor` for the next (null: the last)."""

    items: list[ModelOut]
    next_cursor: str | None


class Registered(BaseModel):
    """The model and the version just registered."""

    model: ModelOut
    version: VersionOut


class Moved(BaseModel):
    """What the move did, and the model and version after it."""

    message: str
    model: ModelOut
    version: VersionOut


class MetricPoint(BaseModel):
    version: str
    value: Any


class VersionMetrics(BaseModel):
    version: str
    status: str | None
    metrics: dict[str, Any]


class Metrics(BaseModel):
    """Metrics per version (oldest first: `metrics` names them, `versions` holds them), or with
    `metric` that metric's `series` across versions."""

    model_id: str
    metric: str | None = None
    series: list[MetricPoint] | None = None
    metrics: list[str] | None = None
    versions: list[VersionMetrics] | None = None


class AliasOut(BaseModel):
    """Where an alias points: the version, since when and who moved it there."""

    model_id: str
    alias: str
    since: str | None
    by: str | None
    version: VersionOut

    @classmethod
    def of(cls, model: MlModel, alias: str, version: RegistryVersion) -> AliasOut:
        entry = (model.aliases or {}).get(alias)
        return cls(
            model_id=model.model_id,
            alias=alias,
            since=entry.since if entry else None,
            by=entry.by if entry else None,
            version=VersionOut.of(version),
        )


class AliasIn(Strict):
    model_config = ConfigDict(strict=True, extra="forbid")
    version: str = Field(min_length=1, max_length=64, examples=["1.4.0"])
    reason: str | None = Field(
        default=None,
        max_length=500,
        description="Required when the alias is protected: the approver reads it.",
    )


class ChangeRequestOut(BaseModel):
    """A change to a protected environment or alias, waiting for (or decided by) a second person."""

    request_id: str
    state: Literal[approvals.STATES]  # type: ignore[valid-type]
    model_id: str
    model_name: str
    kind: Literal["status", "alias"]
    change: str = Field(description="What it changes, in words.")
    version: str
    status: str | None = Field(description="The status asked for (kind status).")
    environment: str | None
    alias: str | None
    protected: list[str] = Field(description="The protected targets it touches: `environment:production`.")
    current: str | None = Field(description="The version the target held when it was asked.")
    reason: str
    requested_by: str
    requested_at: str
    expires_at: str
    decided_by: str | None
    decided_at: str | None
    decision_reason: str | None
    outcome: str | None
    evidence: dict[str, Any] = Field(description="Metrics of both versions, and the cost impact if any.")


class ChangeRequestPage(BaseModel):
    """Open requests, oldest first; pass `next_cursor` as `cursor` for the next page (null: the last)."""

    items: list[ChangeRequestOut]
    next_cursor: str | None


class DecisionIn(Strict):
    model_config = ConfigDict(strict=True, extra="forbid")
    decision: Literal["approve", "reject"]
    reason: str = Field(min_length=1, max_length=500)


class DecisionOut(BaseModel):
    """What the decision did, and the request after it."""

    message: str
    request: ChangeRequestOut


class ApprovalsQuery(Query):
    cursor: str | None = None
    limit: int | None = Field(default=None, ge=1, le=MAX_LIMIT)


class ModelsQuery(Query):
    project: str | None = Field(default=None, max_length=200)
    status: str | None = Field(default=None, max_length=40)
    cursor: str | None = None
    limit: int | None = Field(default=None, ge=1, le=MAX_LIMIT)


class MetricsQuery(Query):
    metric: str | None = Field(default=None, max_length=200)


REGISTRY = {
    "GET": Operation("List models", {200: ModelPage}, query=ModelsQuery, tags=["models"]),
    "POST": Operation(
        "Register a model or a version",
        {201: Registered, 404: "No such model (`model_id`) for this key's tenant."},
        body=RegisterIn,
        body_example={
            "name": "churn",
            "project_id": "prj-1",
            "task": "classification",
            "version": "1.0.0",
            "framework": FRAMEWORKS[0],
            "artifact_uri": "s3://models/churn/1.0.0/model.tar.gz",
            "metrics": {"auc": 0.91},
        },
        tags=["models"],
    ),
}
DEPLOY = {
    "PUT": Operation(
        "Move a version (deploy, finish, roll back, retire)",
        {
            200: Moved,
            202: ChangeRequestOut,
            403: "The key may not make this move there: only Diatonic staff start changes to production, "
            "and only the roles the tenant names may ask to change a protected environment.",
            409: "The move is not allowed from the version's state, or raced another.",
        },
        description="A move that touches an environment the tenant protects is not made: it answers 202 "
        "with the change request (send a `reason`), which another person approves or rejects.",
        body=DeployIn,
        body_example={"version": "1.0.0", "environment": "staging", "status": "deploying"},
        tags=["models"],
    )
}
ALIAS = {
    "GET": Operation(
        "Resolve a model alias",
        {200: AliasOut, 404: "No such model, or the model has no such alias."},
        description="Aliases (`champion`, `challenger`, any name) point to one version each, beside the environments.",
        tags=["models"],
    ),
    "PUT": Operation(
        "Set or move a model alias",
        {
            200: AliasOut,
            202: ChangeRequestOut,
            403: "The alias is protected and this key's role may not ask to move it.",
            409: "Another change of the model kept landing first; retry.",
            422: "Not an alias name, or a retired version, or a protected alias without a `reason`.",
        },
        description="Atomic and audited: two moves at once are applied one after the other. A protected "
        "alias is not moved: 202 with the change request another person decides.",
        body=AliasIn,
        body_example={"version": "1.0.0"},
        tags=["models"],
    ),
}
APPROVALS = {
    "GET": Operation(
        "List open change requests",
        {200: ChangeRequestPage},
        description=(
            "Changes to protected environments and aliases waiting for a second person, oldest first. "
            "A request past its expires_at is not listed: it can no longer be decided."
        ),
        query=ApprovalsQuery,
        tags=["models"],
    )
}
APPROVAL = {
    "POST": Operation(
        "Approve or reject a change request",
        {
            200: DecisionOut,
            403: "The key asked for this change itself (another must decide), or may not make the change.",
            409: "The request was already decided or expired, or the change can no longer be made "
            "(it is then closed as obsolete).",
        },
        description="Approving makes the change in the same transaction; two decisions at once: one wins.",
        body=DecisionIn,
        body_example={"decision": "approve", "reason": "recall is up 3 points on the holdout"},
        tags=["models"],
    )
}
METRICS = {"GET": Operation("A model's metrics", {200: Metrics}, query=MetricsQuery, tags=["models"])}


@api_view(REGISTRY)
def registry(request: HttpRequest):
    """GET: the key's models (`project`, `status`, `cursor`). POST: a new model, or a version of `model_id`."""
    if request.method == "GET":
        page = queries.list_models(
            request.scope,
            project_id=request.GET.get("project") or None,
            status=request.GET.get("status") or None,
            cursor=request.GET.get("cursor") or None,
            limit=limit_param(request, queries.PAGE_SIZE, MAX_LIMIT),
        )
        return ModelPage(items=[ModelOut.of(model) for model in page], next_cursor=page.next_cursor)
    body: RegisterIn = request.api_body
    if body.model_id:
        version = services.register_version(request.scope, body.model_id, body)
        model = queries.get_model(request.scope, version.model_id, consistent=True)
    else:
        model, version = services.register_model(request.scope, body)
    return created(Registered(model=ModelOut.of(model), version=VersionOut.of(version)))


@api_view(DEPLOY)
def deploy(request: HttpRequest, model_id: str):
    """Move a version: body {"version", "environment", "status"} with status deploying, deployed,
    failed, rolled_back or retired."""
    body: DeployIn = request.api_body
    change = services.change_status(
        request.scope,
        model_id,
        body.version,
        body.status,
        body.environment or None,
        reason=body.reason or "",
        vacate=body.vacate,
    )
    if change.request is not None:  # a protected target: a request waits for a second person
        return Answer(request_out(change.request), 202)
    return Moved(
        message=change.message, model=ModelOut.of(change.model), version=VersionOut.of(change.version)
    )


@api_view(METRICS)
def metrics(request: HttpRequest, model_id: str):
    """Metrics per version (oldest first), or one `metric` across versions."""
    model = queries.get_model(request.scope, model_id)
    items = queries.model_versions(model)
    metric = request.GET.get("metric")
    if metric:
        series = [MetricPoint.model_validate(point) for point in queries.metric_series(items, metric)]
        return Metrics(model_id=model.model_id, metric=metric, series=series)
    return Metrics(
        model_id=model.model_id,
        metrics=queries.metric_names(items),
        versions=[
            VersionMetrics(version=item.version, status=item.status, metrics=item.metrics or {})
            for item in reversed(items)
        ],
    )


@api_view(ALIAS)
def alias(request: HttpRequest, model_id: str, alias: str):
    """GET: the version the alias points to. PUT {"version"}: point the alias there."""
    if request.method == "PUT":
        body: AliasIn = request.api_body
        move = services.set_alias(request.scope, model_id, alias, body.version, reason=body.reason or "")
        if move.request is not None:
            return Answer(request_out(move.request), 202)
        model, version = queries.resolve_alias(request.scope, move.model.model_id, move.alias)
        return AliasOut.of(move.model, move.alias, version)
    model, version = queries.resolve_alias(request.scope, model_id, alias)
    return AliasOut.of(model, alias, version)


def request_out(item: ChangeRequest) -> ChangeRequestOut:
    return ChangeRequestOut(
        request_id=item.request_id,
        state=approvals.state_of(item, clock.now()),
        model_id=item.model_id,
        model_name=item.model_name,
        kind=item.kind,
        change=approvals.describe(item),
        version=item.version,
        status=item.to,
        environment=item.environment,
        alias=item.alias,
        protected=list(item.targets or []),
        current=item.current,
        reason=item.reason,
        requested_by=item.requested_by,
        requested_at=item.requested_at.isoformat(),
        expires_at=item.expires_at.isoformat(),
        decided_by=item.decided_by,
        decided_at=_iso(item.decided_at),
        decision_reason=item.decision_reason,
        outcome=item.outcome,
        evidence=item.evidence or {},
    )


@api_view(APPROVALS)
def approvals_list(request: HttpRequest):
    """Open change requests of the key's tenant, oldest first."""
    page = queries.open_requests(
        request.scope,
        cursor=request.GET.get("cursor") or None,
        limit=limit_param(request, queries.PAGE_SIZE, MAX_LIMIT),
    )
    return ChangeRequestPage(
        items=[request_out(item) for item in page], next_cursor=page.next_cursor
    ).model_dump()


@api_view(APPROVAL)
def approval(request: HttpRequest, request_id: str):
    """Approve or reject: {"decision": "approve"|"reject", "reason": …}."""
    body = request.api_body
    decided = services.decide_request(request.scope, request_id, body.decision, body.reason)
    return DecisionOut(message=decided.message, request=request_out(decided.request)).model_dump()


urlpatterns = [
    path("models/approvals", approvals_list, name="registry_approvals"),
    path("models/approvals/<key:request_id>", approval, name="registry_approval"),
    path("models/registry", registry, name="registry_models"),
    path("models/<key:model_id>/deploy", deploy, name="registry_deploy"),
    path("models/<key:model_id>/metrics", metrics, name="registry_metrics"),
    path("models/<key:model_id>/aliases/<key:alias>", alias, name="registry_alias"),
]
