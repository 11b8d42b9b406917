"""JSON API endpoints of the marketplace area (thin: they call dashboard.marketplace services)."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.urls import path
from pydantic import BaseModel, ConfigDict, Field

from dashboard.api.auth import Answer, api_view, created, read_json
from dashboard.api.operations import Operation, Query, Strict
from dashboard.core.errors import ValidationFailed
from dashboard.core.http import limit_param
from dashboard.marketplace import queries, services
from dashboard.marketplace.inputs import (
    CATEGORIES,
    MAX_DESCRIPTION,
    MAX_NAME,
    MAX_PAGE_SIZE,
    MAX_TAGS,
    PAGE_SIZE,
    SORTS,
    TAGS_DESCRIPTION,
    VISIBILITY_FILTERS,
    BrowseFilters,
    Tag,
    as_version,
)

Category = Literal[tuple(CATEGORIES)]  # type: ignore[valid-type]


class TemplateIn(Strict):
    """A template: its flow `definition` ({"nodes": [...], "edges": [...]}) and how it is listed."""

    model_config = ConfigDict(strict=True, extra="allow")
    name: str = Field(min_length=1, max_length=MAX_NAME)
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    category: Category
    visibility: Literal["private", "public"] = "private"
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS, description=TAGS_DESCRIPTION)
    definition: dict[str, Any]


class TemplateEdit(TemplateIn):
    version: int = Field(ge=0, description="The version you read: a save over someone else's is a 409.")


class UseIn(Strict):
    model_config = ConfigDict(strict=True, extra="allow")
    project_id: str = Field(min_length=1, max_length=200)
    name: str = Field(default="", max_length=120)
    inputs: dict[str, str] = Field(
        default_factory=dict,
        description="The secrets the template leaves out, by each of its `inputs`' `field` "
        "(`input__<node_id>__<path>`); lines settings take one line per entry.",
    )


class SecretInputOut(BaseModel):
    node_id: str
    path: str = Field(examples=["api_key"])
    lines: bool = Field(description="A list setting: the user's lines are added to the template's.")
    structured: bool = Field(default=False, description="A setting whose value is JSON, not text.")
    field: str = Field(
        examples=["input__n3__api_key"], description="The name to supply it under when using the template."
    )


class SettingProblemOut(BaseModel):
    """A node setting that breaks its node type's schema (shown to the author and the moderator)."""

    node_id: str
    node: str = Field(description="The node's label.")
    path: str
    message: str


class RatingOut(BaseModel):
    average: float | None
    count: int


class ModerationStepOut(BaseModel):
    at: str = Field(description="ISO-8601.")
    by: str
    action: str
    reason: str


class TemplateOut(BaseModel):
    """A template (the list leaves out `definition` and the moderation details)."""

    id: str
    tenant_id: str | None
    name: str
    description: str
    category: str
    tags: list[str]
    visibility: str
    moderation_status: str
    listed: bool
    featured: bool
    usage_count: int
    rating: RatingOut
    author: str
    version: int
    inputs: list[SecretInputOut] = Field(description="The secrets left out, supplied on use.")
    setting_problems: list[SettingProblemOut]
    created_at: str | None
    updated_at: str | None
    definition: dict[str, Any] | None = None
    rejection_reason: str | None = None
    submitted_at: str | None = None
    moderation_history: list[ModerationStepOut] | None = None


class TemplatePage(BaseModel):
    """One page of templates; pass `next_cursor` as `cursor` for the next (null: the last)."""

    items: list[TemplateOut]
    next_cursor: str | None


class FlowOut(BaseModel):
    """The flow made from the template."""

    flow_id: str
    project_id: str
    name: str
    node_count: int
    edge_count: int
    source_template_id: str | None


class BrowseQuery(Query):
    category: Category | None = None
    visibility: Literal[tuple(VISIBILITY_FILTERS)] | None = None  # type: ignore[valid-type]
    tenant: str | None = Field(default=None, max_length=200)
    sort: Literal[tuple(SORTS)] | None = None  # type: ignore[valid-type]
    q: str | None = Field(default=None, max_length=100)
    cursor: str | None = None
    limit: int | None = Field(default=None, ge=1, le=MAX_PAGE_SIZE)


class VersionQuery(Query):
    version: int | None = Field(default=None, ge=0, description="The version you read (409 if it changed).")


TEMPLATE_EXAMPLE = {
    "name": "Support triage",
    "category": "customer-support",
    "visibility": "private",
    "tags": ["triage"],
    "definition": {
        "nodes": [
            {"id": "n1", "type": "prompt", "label": "Ticket"},
            {"id": "n2", "type": "llm", "label": "Answer"},
            {"id": "n3", "type": "output", "label": "Reply"},
        ],
        "edges": [{"id": "e1", "source": "n1", "target": "n2"}, {"id": "e2", "source": "n2", "target": "n3"}],
    },
}
TEMPLATES = {
    "GET": Operation("Browse templates", {200: TemplatePage}, query=BrowseQuery, tags=["templates"]),
    "POST": Operation(
        "Create a template",
        {201: TemplateOut},
        body=TemplateIn,
        body_example=TEMPLATE_EXAMPLE,
        tags=["templates"],
    ),
}
TEMPLATE = {
    "GET": Operation("Read a template", {200: TemplateOut}, tags=["templates"]),
    "PUT": Operation(
        "Edit a template",
        {200: TemplateOut, 409: "Someone saved the template since the version you sent."},
        body=TemplateEdit,
        body_example={**TEMPLATE_EXAMPLE, "version": 1},
        tags=["templates"],
    ),
    "DELETE": Operation(
        "Delete a template",
        {204: None, 409: "Someone saved the template since the version you sent."},
        query=VersionQuery,
        tags=["templates"],
    ),
}
USE = {
    "POST": Operation(
        "Make a flow from a template",
        {201: FlowOut},
        body=UseIn,
        body_optional=True,
        body_example={
            "project_id": "prj-1",
            "name": "Triage flow",
            "inputs": {"input__n3__api_key": "sk-your-own-key"},
        },
        tags=["templates"],
    )
}


def _body(request: HttpRequest) -> dict:
    body = read_json(request)
    if not isinstance(body, dict):
        raise ValidationFailed("The body must be a JSON object.", {"body": "expected an object"})
    return body


@api_view(TEMPLATES)
def templates(request: HttpRequest) -> BaseModel | Answer:
    if request.method == "POST":
        template = services.create_template(request.scope, _body(request))
        return created(TemplateOut.model_validate(template.to_dict()))
    filters = BrowseFilters.from_params(request.GET, strict=True)
    limit = limit_param(request, PAGE_SIZE, MAX_PAGE_SIZE)
    page = queries.browse(request.scope, filters, cursor=request.GET.get("cursor") or None, limit=limit)
    items = [TemplateOut.model_validate(t.to_dict(full=False)) for t in page]
    return TemplatePage(items=items, next_cursor=page.next_cursor)


@api_view(TEMPLATE)
def template(request: HttpRequest, template_id: str) -> BaseModel | HttpResponse:
    if request.method == "PUT":
        body = _body(request)
        updated = services.update_template(request.scope, template_id, body, as_version(body.get("version")))
        return TemplateOut.model_validate(updated.to_dict())
    if request.method == "DELETE":
        version = request.GET.get("version")
        services.delete_template(request.scope, template_id, as_version(version) if version else None)
        return HttpResponse(status=204)
    return TemplateOut.model_validate(queries.get_template(request.scope, template_id).to_dict())


@api_view(USE)
def use(request: HttpRequest, template_id: str) -> Answer:
    body = _body(request) if request.body else {}
    inputs = body.get("inputs") or {}
    if not isinstance(inputs, dict) or not all(isinstance(v, str) for v in inputs.values()):
        raise ValidationFailed(
            "`inputs` must be an object of texts, by each input's `field`.", {"inputs": "expected an object"}
        )
    flow = services.use_template(
        request.scope,
        template_id,
        str(body.get("project_id") or ""),
        str(body.get("name") or ""),
        inputs={str(key): value for key, value in inputs.items()},
    )
    return created(FlowOut.model_validate(flow, from_attributes=True))


urlpatterns = [
    path("templates", templates, name="templates"),
    path("templates/<key:template_id>", template, name="template"),
    path("templates/<key:template_id>/use", use, name="template_use"),
]
