"""JSON API endpoints of the marketplace area (thin: they call dashboard.marketplace services)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

from dashboard.api.auth import api_view, read_json
from dashboard.core import converters  # noqa: F401 — registers <key:…>
from dashboard.core.errors import ValidationFailed
from dashboard.core.http import limit_param
from dashboard.marketplace import queries, services
from dashboard.marketplace.forms import as_version
from dashboard.marketplace.inputs import MAX_PAGE_SIZE, PAGE_SIZE, BrowseFilters


def _body(request: HttpRequest) -> dict:
    body = read_json(request)
    if not isinstance(body, dict):
        raise ValidationFailed("The body must be a JSON object.", {"body": "expected an object"})
    return body


@api_view(["GET", "POST"])
def templates(request: HttpRequest) -> dict | HttpResponse:
    if request.method == "POST":
        template = services.create_template(request.scope, _body(request))
        return JsonResponse(template.to_dict(), status=201)
    filters = BrowseFilters.from_params(request.GET, strict=True)
    limit = limit_param(request, PAGE_SIZE, MAX_PAGE_SIZE)
    page = queries.browse(request.scope, filters, cursor=request.GET.get("cursor") or None, limit=limit)
    return {"items": [t.to_dict(full=False) for t in page], "next_cursor": page.next_cursor}


@api_view(["GET", "PUT", "DELETE"])
def template(request: HttpRequest, template_id: str) -> dict | HttpResponse:
    if request.method == "PUT":
        body = _body(request)
        updated = services.update_template(request.scope, template_id, body, as_version(body.get("version")))
        return updated.to_dict()
    if request.method == "DELETE":
        version = request.GET.get("version")
        services.delete_template(request.scope, template_id, as_version(version) if version else None)
        return HttpResponse(status=204)
    return queries.get_template(request.scope, template_id).to_dict()


@api_view(["POST"])
def use(request: HttpRequest, template_id: str) -> HttpResponse:
    body = _body(request) if request.body else {}
    flow = services.use_template(
        request.scope, template_id, str(body.get("project_id") or ""), str(body.get("name") or "")
    )
    data = {
        "flow_id": flow.flow_id,
        "project_id": flow.project_id,
        "name": flow.name,
        "node_count": flow.node_count,
        "edge_count": flow.edge_count,
        "source_template_id": flow.source_template_id,
    }
    return JsonResponse(data, status=201)


urlpatterns = [
    path("templates", templates, name="templates"),
    path("templates/<key:template_id>", template, name="template"),
    path("templates/<key:template_id>/use", use, name="template_use"),
]
