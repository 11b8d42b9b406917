from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRefresh, HttpResponseStopPolling

from dashboard.accounts.access import scoped
from dashboard.accounts.scope import Can
from dashboard.core.errors import DashboardError, PermissionDenied
from dashboard.core.forms import add_service_errors
from dashboard.core.http import render_page, wants_partial
from dashboard.registry import lifecycle, queries, services
from dashboard.registry.forms import FilterForm, ModelForm, VersionForm

POLL_TARGET = "models"  # id of the list element that polls while a deployment is in progress
DETAIL_POLL_TARGET = "head"  # id of the detail page's summary, which polls the same way
DETAIL_SECTIONS = {"compare": "compare", "chart": "chart"}  # htmx target id → partial


@scoped(Can.TENANT_PAGES)
def model_list(request: HttpRequest) -> HttpResponse:
    scope = request.scope
    project_id = request.GET.get("project") or None
    status = request.GET.get("status") or None
    projects = services.list_projects(scope)
    page = services.list_models(scope, project_id=project_id, status=status, cursor=request.GET.get("cursor"))
    context = {
        "page": page,
        "projects": services.project_names(scope, page.items, projects),
        "filters": FilterForm(request.GET, projects=projects),
        "in_progress": services.any_in_progress(page.items),
        "environments": lifecycle.ENVIRONMENTS,
        "filtered": bool(project_id or status),
    }
    response = render_page(request, "registry/list.html", context, partial="models")
    if wants_partial(request) and request.htmx.trigger == POLL_TARGET and not context["in_progress"]:
        return HttpResponseStopPolling(response.content)
    return response


@scoped(Can.TENANT_PAGES)
def register(request: HttpRequest) -> HttpResponse:
    scope = request.scope
    if not scope.tenant_id:
        return render(request, "registry/register.html", {"needs_tenant": True})
    projects = services.list_projects(scope)
    datasets = services.datasets_for(projects)
    form = ModelForm(request.POST or None, projects=projects, datasets=datasets)
    if request.method == "POST" and form.is_valid():
        try:
            model, version = services.register_model(scope, form.cleaned_data)
        except DashboardError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"{model.name} {version.version} is registered.")
            return redirect("registry:detail", model_id=model.model_id)
    status = 422 if form.errors else 200
    return render(request, "registry/register.html", {"form": form}, status=status)


@scoped(Can.TENANT_PAGES)
def detail(request: HttpRequest, model_id: str) -> HttpResponse:
    scope = request.scope
    model = services.get_model(scope, model_id)
    items = services.model_versions(model)
    names = services.metric_names(items)
    metric = (
        request.GET.get("metric") if request.GET.get("metric") in names else (names[0] if names else None)
    )
    comparison, compare_error = None, None
    ordered = [item.version for item in items]
    left = request.GET.get("a") or (ordered[1] if len(ordered) > 1 else None)
    right = request.GET.get("b") or (ordered[0] if ordered else None)
    if left and right:
        try:
            comparison = services.compare(items, left, right)
        except DashboardError as exc:
            compare_error = exc.message
    context = {
        "model": model,
        "versions": [(item, services.version_actions(scope, item)) for item in items],
        "history": services.deployment_history(items),
        "metric_names": names,
        "metric": metric,
        "series": services.metric_series(items, metric) if metric else [],
        "comparison": comparison,
        "compare_error": compare_error,
        "left": left,
        "right": right,
        "environments": lifecycle.ENVIRONMENTS,
        "dataset_names": services.dataset_names(items),
        "project": services.project_names(scope, [model]).get(model.project_id, model.project_id),
    }
    if wants_partial(request) and request.htmx.trigger == DETAIL_POLL_TARGET:
        if model.status != lifecycle.DEPLOYING:
            # The deployment ended: versions and history changed too, so the page reloads once.
            return HttpResponseClientRefresh()
        return render_page(request, "registry/detail.html", context, partial="head")
    return render_page(request, "registry/detail.html", context, by_target=DETAIL_SECTIONS)


@scoped(Can.TENANT_PAGES)
def new_version(request: HttpRequest, model_id: str) -> HttpResponse:
    scope = request.scope
    model = services.get_model(scope, model_id)
    datasets = services.datasets_for([services.get_project(scope, model.project_id)])
    form = VersionForm(request.POST or None, datasets=datasets)
    if request.method == "POST" and form.is_valid():
        try:
            version = services.register_version(scope, model.model_id, form.cleaned_data)
        except DashboardError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Version {version.version} of {model.name} is registered.")
            return redirect("registry:detail", model_id=model.model_id)
    status = 422 if form.errors else 200
    return render(request, "registry/new_version.html", {"form": form, "model": model}, status=status)


@require_POST
@scoped(Can.TENANT_PAGES)
def change_status(request: HttpRequest, model_id: str, version: str) -> HttpResponse:
    try:
        change = services.change_status(
            request.scope,
            model_id,
            version,
            request.POST.get("status", ""),
            request.POST.get("environment") or None,
        )
    except PermissionDenied as exc:
        messages.error(request, exc.message)
    except DashboardError as exc:
        if exc.status == 404:
            raise
        messages.error(request, exc.message)
    else:
        messages.success(request, change.message)
    return redirect(reverse("registry:detail", kwargs={"model_id": model_id}) + "#versions")


# --- datasets --------------------------------------------------------------------------------------


@scoped(Can.TENANT_PAGES)
def dataset_list(request: HttpRequest) -> HttpResponse:
    """The tenant's datasets by project (staff pick a tenant first)."""
    scope = request.scope
    if scope.sees_all_tenants:
        return render(request, "registry/datasets.html", {"needs_tenant": True})
    return render_page(request, "registry/datasets.html", {"groups": queries.datasets_by_project(scope)})


@scoped(Can.TENANT_PAGES)
def dataset_detail(request: HttpRequest, dataset_id: str) -> HttpResponse:
    """A dataset's schema, size and version, and the model versions trained on it."""
    scope = request.scope
    dataset = queries.get_dataset(scope, dataset_id)
    versions = queries.versions_trained_on(
        dataset.tenant_id, dataset.dataset_id, cursor=request.GET.get("cursor")
    )
    context = {
        "dataset": dataset,
        "project": services.get_project(scope, dataset.project_id),
        "versions": versions,
    }
    return render_page(request, "registry/dataset.html", context, partial="versions")
