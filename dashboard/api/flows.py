"""JSON API endpoints of the flows area (thin: they call dashboard.flows.services)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import path

from dashboard.api.auth import api_view, read_json
from dashboard.core import converters  # noqa: F401 — registers <key:…>
from dashboard.core.errors import ValidationFailed
from dashboard.flows import services
from dashboard.flows.node_catalogue import all_node_types, get_node_type


@api_view(["GET", "PUT"])
def node_config(request: HttpRequest, flow_id: str, node_id: str) -> Any:
    """GET the node's configuration (secrets masked); PUT `{"version": n, "config": {...}}` to replace it."""
    if request.method == "GET":
        return services.get_node_state(request.scope, flow_id, node_id).as_dict()
    body = read_json(request)
    if not isinstance(body, dict) or not isinstance(body.get("config"), dict):
        raise ValidationFailed(
            'Send `{"version": <the version you read>, "config": {...}}`.',
            {"config": "a JSON object"},
        )
    version = body.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise ValidationFailed(
            "Send the version you read (0 for a node still at its defaults): saves that would "
            "overwrite someone else's are refused.",
            {"version": "a whole number ≥ 0"},
        )
    try:
        state = services.save_node_config(request.scope, flow_id, node_id, body["config"], version)
    except services.InvalidConfig as exc:
        # `fields` maps each JSON path to its message, as every API error does; `errors` keeps their order.
        error = {
            "code": exc.code,
            "message": exc.message,
            "fields": exc.fields,
            "errors": [item.as_dict() for item in exc.errors],
        }
        return JsonResponse({"error": error}, status=exc.status)
    return state.as_dict()


@api_view(["POST"])
def validate_config(request: HttpRequest, node_type: str) -> Any:
    """Check a configuration against the type's schema: `{"valid": bool, "errors": [{path, message}]}`."""
    get_node_type(node_type)  # 404 for an unknown type, before reading the body
    errors = services.check_config(node_type, read_json(request))
    return {"valid": not errors, "errors": [error.as_dict() for error in errors]}


@api_view(["GET"])
def node_types(request: HttpRequest) -> Any:
    return {"node_types": [services.catalogue_entry(kind) for kind in all_node_types()]}


@api_view(["GET"])
def node_type_detail(request: HttpRequest, node_type: str) -> Any:
    return services.catalogue_entry(get_node_type(node_type))


urlpatterns = [
    path("flows/<key:flow_id>/nodes/<key:node_id>/config", node_config, name="flow_node_config"),
    path("nodes/types", node_types, name="node_types"),
    path("nodes/types/<key:node_type>", node_type_detail, name="node_type"),
    path("nodes/types/<key:node_type>/validate", validate_config, name="validate_node_config"),
]
