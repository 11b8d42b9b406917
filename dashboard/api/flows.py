"""JSON API endpoints of the flows area (thin: they call dashboard.flows.services, queries and inputs)."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from django.urls import path
from pydantic import BaseModel, ConfigDict, Field, RootModel

from dashboard.api.auth import Answer, api_view, created, read_json
from dashboard.api.marketplace import Category, TemplateOut
from dashboard.api.operations import ErrorDetail, Operation, Strict
from dashboard.flows import inputs, queries, services
from dashboard.flows.node_types import all_node_types, get_node_type
from dashboard.marketplace import services as marketplace
from dashboard.marketplace.inputs import MAX_DESCRIPTION, MAX_NAME, MAX_TAGS, TAGS_DESCRIPTION, Tag


class ConfigIn(Strict):
    model_config = ConfigDict(strict=True, extra="allow")
    version: int = Field(
        ge=0,
        description="The version you read (0 for a node still at its defaults): a save over someone else's is a 409.",
    )
    config: dict[str, Any] = Field(
        description="The node's whole configuration; a masked secret keeps its value."
    )


class AnyConfig(RootModel):
    """A draft configuration to check against the node type's schema."""

    root: Any


class PathError(BaseModel):
    path: str = Field(examples=["$.temperature"])
    message: str


class NodeConfigOut(BaseModel):
    """The node's configuration (secrets masked) and its version."""

    flow_id: str
    node_id: str
    node_type: str
    label: str | None
    status: str
    version: int
    config: dict[str, Any]
    errors: list[PathError]
    updated_at: str | None
    updated_by: str | None


class ConfigProblems(ErrorDetail):
    errors: list[PathError] = Field(
        default_factory=list,
        description="The node type's schema problems in order (`fields` has them by path); absent when "
        "the body itself is not a configuration.",
    )


class ConfigRefused(BaseModel):
    """The configuration breaks the node type's schema: each problem by its path."""

    error: ConfigProblems


class Validation(BaseModel):
    """Whether the configuration is valid, and each problem by its path."""

    valid: bool
    errors: list[PathError]


class NodeTypeOut(BaseModel):
    """A node type: its JSON Schema, defaults and form hints."""

    type: str
    label: str
    description: str
    schema_: dict[str, Any] = Field(alias="schema")
    defaults: dict[str, Any]
    ui: dict[str, Any]


class NodeTypes(BaseModel):
    """Every node type."""

    node_types: list[NodeTypeOut]


NODE_CONFIG = {
    "GET": Operation("Read a node's configuration", {200: NodeConfigOut}, tags=["flows"]),
    "PUT": Operation(
        "Replace a node's configuration",
        {200: NodeConfigOut, 409: "Someone saved the node since the version you sent.", 422: ConfigRefused},
        body=ConfigIn,
        body_example={"version": 0, "config": {"model": "gpt-4o-mini", "temperature": 0.2}},
        tags=["flows"],
    ),
}
VALIDATE = {
    "POST": Operation(
        "Check a configuration",
        {200: Validation},
        body=AnyConfig,
        body_example={"temperature": 0.2},
        tags=["flows"],
    )
}


class FlowTemplateIn(Strict):
    """How the template made from the flow is listed; the flow's graph and node settings are its definition."""

    name: str = Field(min_length=1, max_length=MAX_NAME)
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    category: Category
    visibility: Literal["private", "public"] = Field(
        default="private", description="public sends it to moderation before it is listed."
    )
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS, description=TAGS_DESCRIPTION)


class FlowTemplateOut(TemplateOut):
    """The template: the flow's graph and node settings, stored secrets left out and listed as `inputs`."""

    definition: dict[str, Any]


FLOW_TEMPLATE = {
    "POST": Operation(
        "Save a flow as a template",
        {201: FlowTemplateOut},
        description="Graph and node settings are copied; stored secrets (by name or by value) are left "
        "out and listed as `inputs` that whoever uses the template supplies.",
        body=FlowTemplateIn,
        body_example={"name": "Support triage", "category": "customer-support", "visibility": "private"},
        tags=["flows", "templates"],
    )
}


@api_view(FLOW_TEMPLATE)
def flow_template(request: HttpRequest, flow_id: str) -> Any:
    """POST how to list it: a template of the flow, secrets out (201)."""
    template = marketplace.template_from_flow(request.scope, flow_id, read_json(request))
    return created(FlowTemplateOut.model_validate(template.to_dict()))


@api_view(NODE_CONFIG)
def node_config(request: HttpRequest, flow_id: str, node_id: str) -> Any:
    """GET the node's configuration (secrets masked); PUT `{"version": n, "config": {...}}` to replace it."""
    if request.method == "GET":
        return NodeConfigOut.model_validate(queries.get_node_state(request.scope, flow_id, node_id).as_dict())
    body: ConfigIn = request.api_body
    try:
        state = services.save_node_config(request.scope, flow_id, node_id, body.config, body.version)
    except inputs.InvalidConfig as exc:
        # `fields` maps each JSON path to its message, as every API error does; `errors` keeps their order.
        problems = ConfigProblems(
            code=exc.code,
            message=exc.message,
            fields=exc.fields,
            errors=[PathError.model_validate(item.as_dict()) for item in exc.errors],
        )
        return Answer(ConfigRefused(error=problems), exc.status)
    return NodeConfigOut.model_validate(state.as_dict())


@api_view(VALIDATE)
def validate_config(request: HttpRequest, node_type: str) -> Any:
    """Check a configuration against the type's schema: `{"valid": bool, "errors": [{path, message}]}`."""
    get_node_type(node_type)  # 404 for an unknown type, before reading the body
    errors = inputs.check_config(node_type, read_json(request))
    return Validation(
        valid=not errors, errors=[PathError.model_validate(error.as_dict()) for error in errors]
    )


@api_view({"GET": Operation("List node types", {200: NodeTypes}, tags=["flows"])})
def node_types(request: HttpRequest) -> Any:
    return NodeTypes(
        node_types=[NodeTypeOut.model_validate(queries.catalogue_entry(kind)) for kind in all_node_types()]
    )


@api_view({"GET": Operation("A node type", {200: NodeTypeOut}, tags=["flows"])})
def node_type_detail(request: HttpRequest, node_type: str) -> Any:
    return NodeTypeOut.model_validate(queries.catalogue_entry(get_node_type(node_type)))


urlpatterns = [
    path("flows/<key:flow_id>/template", flow_template, name="flow_template"),
    path("flows/<key:flow_id>/nodes/<key:node_id>/config", node_config, name="flow_node_config"),
    path("nodes/types", node_types, name="node_types"),
    path("nodes/types/<key:node_type>", node_type_detail, name="node_type"),
    path("nodes/types/<key:node_type>/validate", validate_config, name="validate_node_config"),
]
