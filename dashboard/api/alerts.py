"""JSON API endpoints of the alerts area: a tenant's alert rules as code (thin: they call
dashboard.alerts.services and queries, the same rules and versioning as the rules page)."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.urls import path
from pydantic import BaseModel, Field

from dashboard.alerts import queries, services
from dashboard.alerts.inputs import (
    MAX_LIMIT_MICRO_USD,
    MAX_RENOTIFY_MINUTES,
    METRIC_WINDOWS,
    METRICS,
    NO_DATA,
    RULE_KINDS,
    SCOPES,
    WINDOWS,
    RuleInput,
)
from dashboard.api.auth import api_view, created
from dashboard.api.operations import Operation, Query, Strict

Kind = Literal[tuple(RULE_KINDS)]  # type: ignore[valid-type]
Window = Literal[tuple(dict.fromkeys([*WINDOWS, *METRIC_WINDOWS]))]  # type: ignore[valid-type]
Metric = Literal[tuple(METRICS)]  # type: ignore[valid-type]
Scope = Literal[tuple(SCOPES)]  # type: ignore[valid-type]
NoData = Literal[tuple(NO_DATA)]  # type: ignore[valid-type]
LEVEL_UNITS = (
    "In the metric's unit: micro-USD (cost), executions, hundredths of a percent (error rate: 250 = 2.5 %), "
    "milliseconds (p95 latency)."
)


class RuleIn(Strict):
    """An alert rule. `budget`: `thresholds` (% of the monthly budget); `forecast`: nothing more;
    `agent_spend` / `user_spend`: `limit_micro_usd`, `window` day or month, `subject` ("" = each);
    `metric`: `metric`, `scope` and `subject` ("" = each), `window`, `warning` and/or `critical`,
    `no_data`, `renotify_minutes`. Fields of other kinds are ignored."""

    name: str = Field(min_length=1, max_length=80)
    kind: Kind
    thresholds: list[int] = Field(
        default_factory=list, max_length=10, description="Whole percents, 1 to 1000."
    )
    subject: str = Field(
        default="",
        max_length=128,
        description="An agent, model, user, environment or tag; empty: each one (cost: the costliest "
        "hundred and any over the level; other metrics: every one with executions in the window).",
    )
    limit_micro_usd: int | None = Field(default=None, gt=0, le=MAX_LIMIT_MICRO_USD)
    window: Window = Field(
        default="month",
        description="Spend rules: day or month. Metric rules also 1h, 24h (rolling by whole UTC hours: this hour "
        "and the 1 or 24 before), 7d and 30d (rolling by whole UTC days, ending today).",
    )
    enabled: bool = True
    metric: Metric | None = None
    scope: Scope = "tenant"
    warning: int | None = Field(default=None, gt=0, description=LEVEL_UNITS)
    critical: int | None = Field(default=None, gt=0, description=LEVEL_UNITS)
    no_data: NoData = "ok"
    renotify_minutes: int = Field(default=0, ge=0, le=MAX_RENOTIFY_MINUTES, description="0: never remind.")


class RuleEdit(RuleIn):
    version: int = Field(ge=0, description="The version you read: a save over someone else's is a 409.")


class RuleOut(BaseModel):
    """An alert rule as stored, with its version (send it back to change or delete the rule)."""

    rule_id: str
    name: str
    kind: str
    thresholds: list[int]
    subject: str
    limit_micro_usd: int | None
    window: str
    enabled: bool
    metric: str | None
    scope: str | None
    warning: int | None
    critical: int | None
    no_data: str | None
    renotify_minutes: int | None
    version: int
    created_at: str
    updated_at: str


class RuleList(BaseModel):
    """Every alert rule of the key's tenant (at most 50)."""

    items: list[RuleOut]


class VersionQuery(Query):
    version: int | None = Field(default=None, ge=0, description="The version you read (409 if it changed).")


def _int(value) -> int | None:
    return None if value is None else int(value)


def rule_out(rule) -> RuleOut:
    return RuleOut(
        rule_id=rule.rule_id,
        name=rule.name,
        kind=rule.kind,
        thresholds=[int(p) for p in rule.thresholds or []],
        subject=rule.subject or "",
        limit_micro_usd=_int(rule.limit_micro_usd),
        window=rule.window,
        enabled=rule.enabled,
        metric=rule.metric,
        scope=rule.scope,
        warning=_int(rule.warning),
        critical=_int(rule.critical),
        no_data=rule.no_data,
        renotify_minutes=_int(rule.renotify_minutes),
        version=int(rule.version or 0),
        created_at=rule.created_at,
        updated_at=rule.updated_at,
    )


def _rule_input(body: RuleIn) -> RuleInput:
    """The body api_view checked against RuleIn, as the services' typed value."""
    return RuleInput(
        name=body.name,
        kind=body.kind,
        thresholds=tuple(body.thresholds),
        subject=body.subject,
        limit_micro_usd=body.limit_micro_usd,
        window=body.window,
        enabled=body.enabled,
        metric=body.metric or "",
        scope=body.scope,
        warning=body.warning,
        critical=body.critical,
        no_data=body.no_data,
        renotify_minutes=body.renotify_minutes,
    )


RULE_EXAMPLE = {
    "name": "Error rate of the support agent",
    "kind": "metric",
    "metric": "error_rate",
    "scope": "agent",
    "subject": "support-bot",
    "window": "day",
    "warning": 500,
    "critical": 2000,
    "no_data": "ok",
    "renotify_minutes": 60,
}
RULES = {
    "GET": Operation("List alert rules", {200: RuleList}, tags=["alerts"]),
    "POST": Operation(
        "Create an alert rule",
        {201: RuleOut},
        body=RuleIn,
        body_example=RULE_EXAMPLE,
        tags=["alerts"],
    ),
}
RULE = {
    "GET": Operation("Read an alert rule", {200: RuleOut}, tags=["alerts"]),
    "PUT": Operation(
        "Replace an alert rule",
        {200: RuleOut, 409: "Someone saved the rule since the version you sent."},
        body=RuleEdit,
        body_example={**RULE_EXAMPLE, "version": 1},
        tags=["alerts"],
    ),
    "DELETE": Operation(
        "Delete an alert rule",
        {204: None, 409: "Someone saved the rule since the version you sent."},
        query=VersionQuery,
        tags=["alerts"],
    ),
}


@api_view(RULES)
def rules(request: HttpRequest) -> Any:
    """GET the tenant's rules; POST one (201). Calls: one query; a create adds one transaction."""
    if request.method == "POST":
        return created(rule_out(services.create_rule(request.scope, None, _rule_input(request.api_body))))
    tenant_id = services.tenant_for(request.scope)
    return RuleList(items=[rule_out(rule) for rule in queries.rules(tenant_id)])


@api_view(RULE)
def rule(request: HttpRequest, rule_id: str) -> Any:
    """GET a rule; PUT it whole with the `version` you read (409 if it changed); DELETE (204)."""
    if request.method == "PUT":
        body: RuleEdit = request.api_body
        return rule_out(services.update_rule(request.scope, None, rule_id, _rule_input(body), body.version))
    if request.method == "DELETE":
        version = request.GET.get("version")
        services.delete_rule(request.scope, None, rule_id, int(version) if version else None)
        return HttpResponse(status=204)
    return rule_out(queries.rule(services.tenant_for(request.scope), rule_id))


urlpatterns = [
    path("alerts/rules", rules, name="alert_rules"),
    path("alerts/rules/<key:rule_id>", rule, name="alert_rule"),
]
