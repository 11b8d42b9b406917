"""Flows pages: the tenant's projects and flows, a flow's nodes, and the node configuration editor."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dashboard.accounts.access import scoped
from dashboard.accounts.queries import list_tenants
from dashboard.core.errors import Conflict, ValidationFailed
from dashboard.core.http import DashboardRequest, render_page, wants_partial
from dashboard.core.scope import Can
from dashboard.flows import inputs as flow_inputs
from dashboard.flows import queries, services
from dashboard.flows.forms import (
    EDITOR_FIELD,
    VERSION_FIELD,
    NodeConfigForm,
    RawConfigForm,
    apply_service_errors,
)
from dashboard.flows.node_types import SECRET_MASK, all_node_types, get_node_type
from dashboard.marketplace import services as marketplace

# The flow page's sections that page on their own: htmx target id → partial name.
SECTIONS = {"nodes": "nodes", "edges": "edges", "snapshots": "snapshots"}


@require_GET
@scoped(Can.TENANT_PAGES)
def flow_list(request: DashboardRequest) -> HttpResponse:
    scope = request.scope
    if scope.sees_all_tenants:
        return render_page(request, "flows/list.html", {"tenants": list_tenants()})
    project_id = request.GET.get("project")
    project = queries.get_project(scope, project_id) if project_id else None
    page = queries.list_flows(scope, project=project, cursor=request.GET.get("cursor"))
    projects = queries.list_projects(scope)
    names = queries.project_names({flow.project_id for flow in page}, projects.items)
    context = {
        "page": page,
        "rows": [(flow, names.get(flow.project_id, "")) for flow in page],
        "projects": projects,
        "project": project,
    }
    return render_page(request, "flows/list.html", context, partial="flows")


@require_GET
@scoped(Can.TENANT_PAGES)
def flow_detail(request: DashboardRequest, flow_id: str) -> HttpResponse:
    """A flow's nodes, edges and snapshots; an htmx request for the edges alone reads the first
    page of nodes too (one query more), so edges read by their nodes' labels."""
    scope = request.scope
    flow = queries.get_flow(scope, flow_id)
    target = request.htmx.target if wants_partial(request) else None
    context = {"flow": flow}
    if target in (None, "nodes"):
        context["nodes"] = queries.list_nodes(scope, flow, cursor=request.GET.get("cursor"))
    if target in (None, "edges"):
        context["edges"] = queries.list_edges(scope, flow, cursor=request.GET.get("edge_cursor"))
        # Edges read by the labels people gave the nodes (the nodes page shown, else its first page).
        states = context.get("nodes") or queries.list_nodes(scope, flow)
        context["node_labels"] = {
            state.node.node_id: state.node.label for state in states if state.node.label
        }
    if target in (None, "snapshots"):
        context["snapshots"] = queries.list_snapshots(scope, flow, cursor=request.GET.get("snapshot_cursor"))
    if target not in SECTIONS:
        context.update(_flow_context(request, flow))
    return render_page(request, "flows/flow.html", context, by_target=SECTIONS)


def _flow_context(request: DashboardRequest, flow) -> dict:
    """The flow page's header: its project, the template it came from and a newer version of it (its
    panel and form are the marketplace's: `{% template_update_form %}`)."""
    scope = request.scope
    return {
        "project": queries.get_project(scope, flow.project_id),
        "update": marketplace.update_for_flow(scope, flow),
        "update_form": None,  # a fresh one: only a refused update comes back with its own
        "can_save_template": scope.can(Can.TENANT_DATA) and scope.tenant_id is not None,
    }


@require_http_methods(["GET", "POST"])
@scoped(Can.TENANT_PAGES)
def node_config(request: DashboardRequest, flow_id: str, node_id: str) -> HttpResponse:
    scope = request.scope
    flow = queries.get_flow(scope, flow_id)
    state = queries.get_node_state(scope, flow_id, node_id, editable=True)
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
            except flow_inputs.InvalidConfig as exc:
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
    # A GET through htmx switches the editor (form ↔ JSON) in place; a POST answers the whole page.
    partial = "editor" if request.method == "GET" else None
    return render_page(request, "flows/node_config.html", context, partial=partial, status=status)


@require_POST
@scoped(Can.TENANT_PAGES)
def validate(request: DashboardRequest, node_type: str) -> HttpResponse:
    """Inline validation while typing: the errors of the draft in the form (or the raw JSON) posted."""
    kind = get_node_type(node_type)
    if request.POST.get(EDITOR_FIELD) == "json":
        form = RawConfigForm(kind, request.POST)
        form.is_valid()
        return render_page(request, "flows/node_config.html#json_problems", {"form": form})
    form = NodeConfigForm(kind, request.POST)
    form.is_valid()
    return render_page(request, "flows/node_config.html#field_errors", {"form": form})


@require_GET
@scoped(Can.TENANT_PAGES)
def node_types(request: DashboardRequest) -> HttpResponse:
    return render_page(request, "flows/node_types.html", {"node_types": all_node_types()})
