from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh, HttpResponseStopPolling

from dashboard.accounts.access import scoped
from dashboard.core import clock
from dashboard.core.errors import DashboardError, PermissionDenied, ValidationFailed
from dashboard.core.forms import add_service_errors
from dashboard.core.http import DashboardRequest, csv_response, render_page, wants_partial
from dashboard.core.scope import Can
from dashboard.registry import approvals, lifecycle, queries, services
from dashboard.registry.forms import (
    AliasForm,
    FilterForm,
    ModelForm,
    PolicyForm,
    VersionForm,
    metric_lines,
)

POLL_TARGET = "models"  # id of the list element that polls while a deployment is in progress
DETAIL_POLL_TARGET = "head"  # id of the detail page's summary, which polls the same way
DETAIL_SECTIONS = {"compare": "compare", "chart": "chart"}  # htmx target id → partial


@require_GET
@scoped(Can.TENANT_PAGES)
def model_list(request: DashboardRequest) -> HttpResponse:
    scope = request.scope
    project_id = request.GET.get("project") or None
    status = request.GET.get("status") or None
    projects = queries.list_projects(scope)
    page = queries.list_models(scope, project_id=project_id, status=status, cursor=request.GET.get("cursor"))
    lifecycle.mark_stalled(page.items)
    context = {
        "page": page,
        "projects": queries.project_names(scope, page.items, projects),
        "filters": FilterForm(request.GET, projects=projects),
        "in_progress": lifecycle.any_in_progress(page.items),
        "stalled_after": lifecycle.stalled_after(),
        "environments": lifecycle.ENVIRONMENTS,
        "filtered": bool(project_id or status),
    }
    response = render_page(request, "registry/list.html", context, partial="models")
    if wants_partial(request) and request.htmx.trigger == POLL_TARGET and not context["in_progress"]:
        return HttpResponseStopPolling(response.content)
    return response


def _version_form(request: DashboardRequest, form_class, **choices):
    """The register forms, with the run's final metrics offered: `?run=exp/run` (a link from the run's
    page) or the “Use the run's metrics” button fill the metrics field without saving anything."""
    scope = request.scope
    runs = queries.recent_runs(scope)
    offer = request.method == "POST" and request.POST.get("action") == "offer_metrics"
    source = request.POST if offer else request.GET
    run = (source.get("run") or "").strip()
    if request.method == "POST" and not offer:
        return form_class(request.POST, runs=runs, **choices), False
    initial = source.dict() if offer else {}
    offered = False
    if run:
        experiment_id, _sep, run_id = run.partition("/")
        metrics = queries.run_metrics(scope, experiment_id, run_id) if run_id else {}
        initial["run"] = run
        if metrics:
            initial["metrics"] = metric_lines(metrics)
            offered = True
    initial.pop("csrfmiddlewaretoken", None)
    initial.pop("action", None)
    return form_class(initial=initial, runs=runs, **choices), offered


@require_http_methods(["GET", "POST"])
@scoped(Can.TENANT_PAGES)
def register(request: DashboardRequest) -> HttpResponse:
    scope = request.scope
    if not scope.tenant_id:
        return render_page(request, "registry/register.html", {"needs_tenant": True})
    projects = queries.list_projects(scope)
    datasets = queries.datasets_for(projects)
    form, offered = _version_form(request, ModelForm, projects=projects, datasets=datasets)
    if form.is_bound and form.is_valid():
        try:
            model, version = services.register_model(scope, form.cleaned_data)
        except DashboardError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"{model.name} {version.version} is registered.")
            return redirect("registry:detail", model_id=model.model_id)
    status = 422 if form.is_bound and form.errors else 200
    return render_page(request, "registry/register.html", {"form": form, "offered": offered}, status=status)


@require_GET
@scoped(Can.TENANT_PAGES)
def detail(request: DashboardRequest, model_id: str) -> HttpResponse:
    """The model: environments, requests waiting for approval, aliases, versions, history, metrics.
    DynamoDB: 1 GetItem (model), 1 Query (versions), 1 GetItem (policy), 1 Query (open requests),
    the project's name (1 GetItem)."""
    scope = request.scope
    model = queries.get_model(scope, model_id)
    lifecycle.mark_stalled([model])
    items = queries.model_versions(model)
    policy = queries.policy_for(model.tenant_id)
    protected = approvals.protected_environments(policy)
    may_ask = scope.is_staff or scope.role in approvals.requesters(policy)
    names = queries.metric_names(items)
    metric = (
        request.GET.get("metric") if request.GET.get("metric") in names else (names[0] if names else None)
    )
    comparison, compare_error = None, None
    ordered = [item.version for item in items]
    left = request.GET.get("a") or (ordered[1] if len(ordered) > 1 else None)
    right = request.GET.get("b") or (ordered[0] if ordered else None)
    if left and right:
        try:
            comparison = queries.compare(items, left, right)
        except DashboardError as exc:
            compare_error = exc.message
    context = {
        "model": model,
        "versions": [
            (item, lifecycle.version_actions(scope, item, model, protected=protected, may_ask=may_ask))
            for item in items
        ],
        "protected": protected,
        "protected_aliases": approvals.protected_aliases(policy),
        "history": queries.deployment_history(items),
        "metric_names": names,
        "metric": metric,
        "series": queries.metric_series(items, metric) if metric else [],
        "comparison": comparison,
        "compare_error": compare_error,
        "left": left,
        "right": right,
        "environments": lifecycle.ENVIRONMENTS,
        "dataset_names": queries.dataset_names(items),
        "aliases": queries.aliases_of(model),
        "alias_form": AliasForm(
            versions=[item.version for item in items if item.status != lifecycle.RETIRED]
        ),
        "project": queries.project_names(scope, [model]).get(model.project_id, model.project_id),
        "polling": lifecycle.any_in_progress([model]),
        "stalled_after": lifecycle.stalled_after(),
        "waiting": [(item, approvals.describe(item)) for item in queries.open_requests_for(model)],
    }
    if wants_partial(request) and request.htmx.trigger == DETAIL_POLL_TARGET:
        if not context["polling"]:
            # The deployment ended (or stalled): versions and history may have changed, so reload once.
            return HttpResponseClientRefresh()
        return render_page(request, "registry/detail.html", context, partial="head")
    return render_page(request, "registry/detail.html", context, by_target=DETAIL_SECTIONS)


@require_http_methods(["GET", "POST"])
@scoped(Can.TENANT_PAGES)
def new_version(request: DashboardRequest, model_id: str) -> HttpResponse:
    scope = request.scope
    model = queries.get_model(scope, model_id)
    datasets = queries.datasets_for([queries.get_project(scope, model.project_id)])
    form, offered = _version_form(request, VersionForm, datasets=datasets)
    if form.is_bound and form.is_valid():
        try:
            version = services.register_version(scope, model.model_id, form.cleaned_data)
        except DashboardError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Version {version.version} of {model.name} is registered.")
            return redirect("registry:detail", model_id=model.model_id)
    status = 422 if form.is_bound and form.errors else 200
    context = {"form": form, "model": model, "offered": offered}
    return render_page(request, "registry/new_version.html", context, status=status)


@require_POST
@scoped(Can.TENANT_PAGES)
def set_alias(request: DashboardRequest, model_id: str) -> HttpResponse:
    """Set or move an alias (the form beside the environments), or remove it (`remove`)."""
    try:
        if request.POST.get("remove"):
            move = services.remove_alias(request.scope, model_id, request.POST.get("remove", ""))
        else:
            move = services.set_alias(
                request.scope,
                model_id,
                request.POST.get("alias", ""),
                request.POST.get("version", ""),
                reason=request.POST.get("reason", ""),
            )
    except DashboardError as exc:
        if exc.status == 404 and "alias" not in (exc.fields or {}) and "version" not in (exc.fields or {}):
            raise
        messages.error(request, exc.message)
    else:
        messages.success(request, move.message)
        if move.request is not None:
            return redirect("registry:approvals")
    return redirect(reverse("registry:detail", kwargs={"model_id": model_id}) + "#aliases")


def _confirm_url(model_id: str, version: str, to: str, environment: str | None) -> str:
    query = urlencode({"status": to, **({"environment": environment} if environment else {})})
    return reverse("registry:confirm", kwargs={"model_id": model_id, "version": version}) + "?" + query


@require_GET
@scoped(Can.TENANT_PAGES)
def confirm_change(request: DashboardRequest, model_id: str, version: str) -> HttpResponse:
    """Says what a promote, roll back, retire or production change will do, and asks for the reason.

    A page of its own without JavaScript; the detail page's inline panel (#confirm-panel) with htmx.
    DynamoDB: as `queries.plan_change` (at most 3 GetItem and 1 Select=COUNT query); nothing is written.
    """
    to = request.GET.get("status", "")
    environment = request.GET.get("environment") or None
    try:
        plan = queries.plan_change(request.scope, model_id, version, to, environment)
    except DashboardError as exc:
        if exc.status == 404:
            raise
        if wants_partial(request):
            context = {"error": exc.message, "model_id": model_id}
            return render_page(request, "registry/confirm.html", context, partial="panel", status=409)
        messages.error(request, exc.message)
        return redirect(reverse("registry:detail", kwargs={"model_id": model_id}) + "#versions")
    return render_page(request, "registry/confirm.html", {"plan": plan}, partial="panel")


@require_POST
@scoped(Can.TENANT_PAGES)
def change_status(request: DashboardRequest, model_id: str, version: str) -> HttpResponse:
    """Makes a move. Those that ask first need `confirmed=1` from the confirmation step (else they are
    refused and nothing changes); production changes by people need a `reason` too."""
    to = request.POST.get("status", "")
    environment = request.POST.get("environment") or None
    reason = request.POST.get("reason", "")
    try:
        change = services.change_status(
            request.scope,
            model_id,
            version,
            to,
            environment,
            reason=reason,
            confirmed=request.POST.get("confirmed") == "1",
            vacate=request.POST.get("vacate") == "1",
        )
    except services.NeedsConfirmation as exc:
        messages.error(request, exc.message)
        return redirect(_confirm_url(model_id, version, to, environment))
    except ValidationFailed as exc:
        if "reason" not in exc.fields:
            messages.error(request, exc.message)
            return redirect(reverse("registry:detail", kwargs={"model_id": model_id}) + "#versions")
        plan = queries.plan_change(request.scope, model_id, version, to, environment)
        context = {"plan": plan, "error": exc.message, "reason_error": exc.fields["reason"], "reason": reason}
        return render_page(request, "registry/confirm.html", context, status=422)
    except PermissionDenied as exc:
        messages.error(request, exc.message)
    except DashboardError as exc:
        if exc.status == 404:
            raise
        messages.error(request, exc.message)
    else:
        messages.success(request, change.message)
        if change.request is not None:
            return redirect("registry:approvals")
    return redirect(reverse("registry:detail", kwargs={"model_id": model_id}) + "#versions")


@require_GET
@scoped(Can.TENANT_PAGES)
def timeline(request: DashboardRequest, model_id: str) -> HttpResponse:
    """When was what live in one environment (`?environment=`, production by default): which
    version served from when until when, who started and approved it, why, how it ended;
    `?format=csv` downloads it. DynamoDB: 1 GetItem (model), 1 Query (its versions)."""
    scope = request.scope
    model = queries.get_model(scope, model_id)
    environment = request.GET.get("environment") or lifecycle.PRODUCTION
    if environment not in lifecycle.ENVIRONMENTS:
        environment = lifecycle.PRODUCTION
    rows = queries.environment_timeline(queries.model_versions(model), environment)
    if request.GET.get("format") == "csv":
        return csv_response(f"{model.name}-{environment}-timeline.csv", queries.timeline_csv_rows(rows))
    context = {
        "model": model,
        "environment": environment,
        "environments": lifecycle.ENVIRONMENTS,
        "rows": rows,
    }
    return render_page(request, "registry/timeline.html", context, partial="timeline")


@require_GET
@scoped(Can.TENANT_PAGES)
def tenant_timeline(request: DashboardRequest) -> HttpResponse:
    """When was what live in one environment (`?environment=`, production by default) across all the
    tenant's models, newest first, 25 stretches a page (signed `?cursor=`); `?format=csv` downloads
    them all. DynamoDB, a page or the CSV alike: at most 5 Query calls on the versions' tenant index
    (the tenant's 500 most recently changed versions); never a scan. Staff pick a tenant first."""
    scope = request.scope
    if not scope.tenant_id:
        return render_page(request, "registry/tenant_timeline.html", {"needs_tenant": True})
    environment = request.GET.get("environment") or lifecycle.PRODUCTION
    if environment not in lifecycle.ENVIRONMENTS:
        environment = lifecycle.PRODUCTION
    if request.GET.get("format") == "csv":
        rows, truncated = queries.tenant_timeline_rows(scope, environment)
        return csv_response(
            f"{scope.tenant_id}-{environment}-timeline.csv",
            queries.tenant_timeline_csv_rows(rows),
            truncated=truncated,
        )
    context = {
        "needs_tenant": False,
        "environment": environment,
        "environments": lifecycle.ENVIRONMENTS,
        "page": queries.tenant_timeline(scope, environment, cursor=request.GET.get("cursor")),
        "read_at_most": queries.TENANT_TIMELINE_VERSIONS,
    }
    return render_page(request, "registry/tenant_timeline.html", context, partial="timeline")


# --- governance: protection, the approval queue ---------------------------------------------------


@require_GET
@scoped(Can.TENANT_PAGES)
def approvals_queue(request: DashboardRequest) -> HttpResponse:
    """Open change requests (what changes, who asked, the evidence) with approve / reject, and the
    latest decided ones. DynamoDB: 1 GetItem (policy), 1 Query (open index), 1 Query (latest)."""
    scope = request.scope
    if not scope.tenant_id:
        return render_page(request, "registry/approvals.html", {"needs_tenant": True})
    now = clock.now()
    page = queries.open_requests(scope, cursor=request.GET.get("cursor"))
    rows = [
        {
            "request": item,
            "state": approvals.state_of(item, now),
            "change": approvals.describe(item),
            "targets": [approvals.target_label(t) for t in item.targets or []],
            "metrics": queries.metrics_side_by_side(item.evidence),
            # Whose metrics the two columns hold: a roll back's candidate is the version it restores.
            "was": ((item.evidence or {}).get("current") or {}).get("version"),
            "will": ((item.evidence or {}).get("candidate") or {}).get("version") or item.version,
            "restores": (item.evidence or {}).get("restores"),
            "cost": (item.evidence or {}).get("cost"),
            "own": item.requested_by_id == scope.actor_id,
            # Production stays staff's to change: a tenant admin sees who can approve it instead.
            "needs_staff": not scope.is_staff
            and approvals.target(approvals.ENVIRONMENT, lifecycle.PRODUCTION) in (item.targets or []),
        }
        for item in page
    ]
    recent = [
        {"request": item, "state": approvals.state_of(item, now), "change": approvals.describe(item)}
        for item in queries.recent_requests(scope)
        if item.state != approvals.OPEN
    ]
    context = {
        "needs_tenant": False,
        "rows": rows,
        "page": page,
        "recent": recent,
        "policy": queries.policy_for(scope.tenant_id),
    }
    return render_page(request, "registry/approvals.html", context, partial="queue")


@require_POST
@scoped(Can.TENANT_PAGES)
def decide(request: DashboardRequest, request_id: str) -> HttpResponse:
    """Approve (the change is made) or reject a request, with a reason; never one's own."""
    try:
        decided = services.decide_request(
            request.scope, request_id, request.POST.get("decision", ""), request.POST.get("reason", "")
        )
    except DashboardError as exc:
        if exc.status == 404:
            raise
        messages.error(request, exc.message)
    else:
        messages.success(request, decided.message)
    return redirect("registry:approvals")


@require_POST
@scoped(Can.TENANT_PAGES)
def test_event(request: DashboardRequest) -> HttpResponse:
    """Queue a `test` event for the tenant's webhook (the delivery worker sends it, signed)."""
    try:
        key = services.send_test_event(request.scope)
    except DashboardError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"Test event {key} queued: the delivery worker sends it to the tenant's webhook, signed, "
            "and retries it; its attempts are on the Alerts page.",
        )
    return redirect("registry:governance")


@require_http_methods(["GET", "POST"])
@scoped(Can.TENANT_PAGES)
def governance(request: DashboardRequest) -> HttpResponse:
    """Which environments and aliases the tenant protects, who may ask, and when requests expire;
    where registry events go. DynamoDB: 2 GetItem (policy, alert channel); saving 1
    TransactWriteItems (the policy and its audit event)."""
    scope = request.scope
    if not scope.tenant_id:
        return render_page(request, "registry/governance.html", {"needs_tenant": True})
    policy = queries.get_policy(scope)
    initial = {
        "protected_environments": policy.protected_environments or [],
        "protected_aliases": ", ".join(policy.protected_aliases or []),
        "requesters": list(approvals.requesters(policy)),
        "expiry_hours": int(policy.expiry_hours or approvals.DEFAULT_EXPIRY_HOURS),
    }
    form = PolicyForm(request.POST if request.method == "POST" else None, initial=initial)
    if form.is_bound and form.is_valid():
        try:
            services.save_policy(scope, form.cleaned_data)
        except DashboardError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request, "Protection saved: changes to protected targets now need a second person."
            )
            return redirect("registry:governance")
    status = 422 if form.is_bound and form.errors else 200
    context = {
        "needs_tenant": False,
        "form": form,
        "policy": policy,
        "has_channel": queries.has_event_channel(scope.tenant_id),
    }
    return render_page(request, "registry/governance.html", context, status=status)


# --- datasets --------------------------------------------------------------------------------------


@require_GET
@scoped(Can.TENANT_PAGES)
def dataset_list(request: DashboardRequest) -> HttpResponse:
    """The tenant's datasets by project (staff pick a tenant first)."""
    scope = request.scope
    if scope.sees_all_tenants:
        return render_page(request, "registry/datasets.html", {"needs_tenant": True})
    return render_page(request, "registry/datasets.html", {"groups": queries.datasets_by_project(scope)})


@require_GET
@scoped(Can.TENANT_PAGES)
def dataset_detail(request: DashboardRequest, dataset_id: str) -> HttpResponse:
    """A dataset's schema, size and version, and the model versions trained on it."""
    scope = request.scope
    dataset = queries.get_dataset(scope, dataset_id)
    versions = queries.versions_trained_on(
        dataset.tenant_id, dataset.dataset_id, cursor=request.GET.get("cursor")
    )
    context = {
        "dataset": dataset,
        "project": queries.get_project(scope, dataset.project_id),
        "versions": versions,
    }
    return render_page(request, "registry/dataset.html", context, partial="versions")
