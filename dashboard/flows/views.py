"""Flows pages: the tenant's projects and flows, a flow's nodes, and the node configuration editor."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from dashboard.accounts.access import scoped
from dashboard.accounts.scope import STAFF, TENANT_ADMIN
from dashboard.accounts.services import list_tenants
from dashboard.core.errors import Conflict, ValidationFailed
from dashboard.flows import services
from dashboard.flows.forms import (
    EDITOR_FIELD,
    VERSION_FIELD,
    NodeConfigForm,
    RawConfigForm,
    apply_service_errors,
)
from dashboard.flows.node_catalogue import SECRET_MASK, all_node_types, get_node_type

ROLES = (STAFF, TENANT_ADMIN)


@scoped(roles=ROLES)
def list(request: HttpRequest) -> HttpResponse:  # named for the URL `flows:list` the sidebar uses
    scope = request.scope
    if scope.sees_all_tenants:
        return render(request, "flows/list.html", {"tenants": list_tenants()})
    project_id = request.GET.get("project")
    project = services.get_project(scope, project_id) if project_id else None
    page = services.list_flows(scope, project=project, cursor=request.GET.get("cursor"))
    projects = services.list_projects(scope)
    names = services.project_names({flow.project_id for flow in page}, projects.items)
    context = {
        "page": page,
        "rows": [(flow, names.get(flow.project_id, "")) for flow in page],
        "projects": projects,
        "project": project,
    }
    if request.htmx:
        return render(request, "flows/list.html#flows", context)
    return render(request, "flows/list.html", context)


@scoped(roles=ROLES)
def flow_detail(request: HttpRequest, flow_id: str) -> HttpResponse:
    scope = request.scope
    flow = services.get_flow(scope, flow_id)
    target = request.htmx.target if request.htmx else None
    context = {"flow": flow}
    if target in (None, "nodes"):
        context["nodes"] = services.list_nodes(scope, flow, cursor=request.GET.get("cursor"))
    if target in (None, "edges"):
        context["edges"] = services.list_edges(scope, flow, cursor=request.GET.get("edge_cursor"))
    if target in (None, "snapshots"):
        context["snapshots"] = services.list_snapshots(scope, flow, cursor=request.GET.get("snapshot_cursor"))
    if target in ("nodes", "edges", "snapshots"):
        return render(request, f"flows/flow.html#{target}", context)
    context["project"] = services.get_project(scope, flow.project_id)
    return render(request, "flows/flow.html", context)


@require_http_methods(["GET", "POST"])
@scoped(roles=ROLES)
def node_config(request: HttpRequest, flow_id: str, node_id: str) -> HttpResponse:
    scope = request.scope
    flow = services.get_flow(scope, flow_id)
    state = services.get_node_state(scope, flow_id, node_id, editable=True)
    editor = request.POST.get(EDITOR_FIELD) or request.GET.get("view") or "form"
    form_class = RawConfigForm if editor == "json" else NodeConfigForm
    status, conflict = 200, False
    if request.method == "POST":
        form = form_class(state.node_type, request.POST, config=state.masked_config, version=state.version)
        if form.is_valid():
            config = form.cleaned_data["config"] if editor != "json" else form.cleaned_data["config_json"]
            try:
                saved = services.save_node_config(
                    scope, flow_id, node_id, config, form.cleaned_data[VERSION_FIELD]
                )
            except Conflict as exc:
                form.add_error(None, exc.message)
                conflict = True
                status = 409
            except services.InvalidConfig as exc:
                apply_service_errors(form, exc.errors)
                status = 422
            except ValidationFailed as exc:  # e.g. too large to store: shown on the form, not a page
                form.add_error(None, exc.message)
                status = 422
            else:
                messages.success(request, f"Saved version {saved.version} of {state.node.label or node_id}.")
                url = reverse("flows:node_config", args=[flow_id, node_id])
                return redirect(f"{url}?view=json" if editor == "json" else url)
        else:
            status = 422
    else:
        form = form_class(
            state.node_type, config=state.masked_config, version=state.version, known_errors=state.errors
        )
    context = {
        "flow": flow,
        "state": state,
        "node_type": state.node_type,
        "form": form,
        "editor": editor,
        "conflict": conflict,
        "defaults_json": json.dumps(state.node_type.defaults(), indent=2, ensure_ascii=False),
        "secret_mask": SECRET_MASK,
    }
    if request.htmx and request.method == "GET":
        return render(request, "flows/node_config.html#editor", context)
    return render(request, "flows/node_config.html", context, status=status)


@require_POST
@scoped(roles=ROLES)
def validate(request: HttpRequest, node_type: str) -> HttpResponse:
    """Inline validation while typing: the errors of the draft in the form (or the raw JSON) posted."""
    kind = get_node_type(node_type)
    if request.POST.get(EDITOR_FIELD) == "json":
        form = RawConfigForm(kind, request.POST)
        form.is_valid()
        return render(request, "flows/node_config.html#json_problems", {"form": form})
    form = NodeConfigForm(kind, request.POST)
    form.is_valid()
    return render(request, "flows/node_config.html#field_errors", {"form": form})


@scoped(roles=ROLES)
def node_types(request: HttpRequest) -> HttpResponse:
    return render(request, "flows/node_types.html", {"node_types": all_node_types()})
