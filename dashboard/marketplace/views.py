"""Marketplace pages: browse, detail, create/edit/delete, use, rate, and the moderation queue. Thin."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from dashboard.accounts.access import scoped
from dashboard.accounts.scope import Can
from dashboard.accounts.services import list_tenants
from dashboard.core.errors import Conflict, DashboardError, ValidationFailed
from dashboard.core.http import render_page, wants_partial
from dashboard.flows import services as flow_services
from dashboard.flows.definition import layout
from dashboard.marketplace import queries, services
from dashboard.marketplace.forms import EXAMPLE_DEFINITION, TemplateForm, UseForm, as_version, definition_text
from dashboard.marketplace.inputs import CATEGORIES, SORTS, VISIBILITY_FILTERS, BrowseFilters
from dashboard.marketplace.moderation import can_edit, can_moderate, can_rate, can_use


def _version(request: HttpRequest) -> int | None:
    return as_version(request.POST.get("version"))


@scoped()
def browse(request: HttpRequest) -> HttpResponse:
    scope = request.scope
    filters = BrowseFilters.from_params(request.GET)
    cursor = request.GET.get("cursor") or None
    context = {
        "filters": filters,
        "page": queries.browse(scope, filters, cursor=cursor),
        "featured": [] if cursor else queries.featured(scope, filters),
        "categories": CATEGORIES,
        "sorts": SORTS,
        "visibilities": VISIBILITY_FILTERS,
        "tenants": list_tenants() if scope.is_staff else [],
        "can_create": scope.can(Can.TENANT_PAGES),
    }
    return render_page(request, "marketplace/browse.html", context, partial="results")


def _detail_context(request: HttpRequest, template, use_form: UseForm | None = None, **extra) -> dict:
    scope = request.scope
    usable = can_use(scope)
    projects = queries.projects_for_use(scope) if usable else []
    inputs = flow_services.input_fields(template.definition, services.secret_inputs(template))
    if use_form is None and projects:
        use_form = UseForm(projects=projects, inputs=inputs, initial={"name": template.name})
    context = {
        "template": template,
        "graph": layout(template.definition),
        "history": list(reversed(template.moderation_history or [])),
        "can_edit": can_edit(scope, template),
        "can_moderate": can_moderate(scope),
        "can_use": usable,
        "can_rate": can_rate(scope),
        "my_rating": queries.my_rating(scope, template.template_id) if can_rate(scope) else None,
        "use_form": use_form,
        "inputs": inputs,
        "configured": [node for node in template.definition.get("nodes", []) if node.get("config")],
    }
    context.update(extra)
    return context


@scoped()
def detail(request: HttpRequest, template_id: str) -> HttpResponse:
    template = queries.get_template(request.scope, template_id)
    return render(request, "marketplace/detail.html", _detail_context(request, template))


@scoped(Can.TENANT_PAGES)
def create(request: HttpRequest) -> HttpResponse:
    form = TemplateForm(
        request.POST or None, initial={"visibility": "private", "definition": EXAMPLE_DEFINITION}
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            template = services.create_template(request.scope, form.cleaned_data)
        except DashboardError as exc:
            form.add_service_errors(exc)
            status = exc.status
        else:
            messages.success(request, f"Template “{template.name}” is saved.")
            return redirect("marketplace:detail", template_id=template.template_id)
    return render(request, "marketplace/form.html", {"form": form, "template": None}, status=status)


@scoped(Can.TENANT_PAGES)
def edit(request: HttpRequest, template_id: str) -> HttpResponse:
    template = queries.get_editable(request.scope, template_id)
    status = 200
    if request.method == "POST":
        form = TemplateForm(request.POST)
        if form.is_valid():
            try:
                template = services.update_template(
                    request.scope,
                    template_id,
                    form.cleaned_data,
                    as_version(form.cleaned_data.get("version")),
                )
            except DashboardError as exc:
                form.add_service_errors(exc)
                status = exc.status
            else:
                messages.success(request, f"Saved version {template.version} of “{template.name}”.")
                return redirect("marketplace:detail", template_id=template_id)
    else:
        form = TemplateForm(
            initial={
                "name": template.name,
                "description": template.description,
                "category": template.category,
                "tags": ", ".join(template.tag_list),
                "visibility": template.visibility,
                "definition": definition_text(template),
                "version": template.version,
            }
        )
    return render(request, "marketplace/form.html", {"form": form, "template": template}, status=status)


@require_POST
@scoped(Can.TENANT_PAGES)
def delete(request: HttpRequest, template_id: str) -> HttpResponse:
    template = queries.get_editable(request.scope, template_id)
    try:
        services.delete_template(request.scope, template_id, _version(request))
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect("marketplace:detail", template_id=template_id)
    messages.success(request, f"Template “{template.name}” is deleted.")
    return redirect("marketplace:browse")


@require_POST
@scoped(Can.TENANT_PAGES)
def use(request: HttpRequest, template_id: str) -> HttpResponse:
    """Create the flow (asking for the secrets the template leaves out) and open it."""
    template = queries.get_template(request.scope, template_id)
    inputs = flow_services.input_fields(template.definition, services.secret_inputs(template))
    form = UseForm(request.POST, projects=queries.projects_for_use(request.scope), inputs=inputs)
    form.is_valid()
    try:
        flow = services.use_template(
            request.scope,
            template_id,
            request.POST.get("project_id", ""),
            request.POST.get("name", ""),
            inputs=request.POST.dict(),
        )
    except ValidationFailed as exc:
        form.add_service_errors(exc)
        context = _detail_context(request, template, use_form=form)
        return render(request, "marketplace/detail.html", context, status=exc.status)
    messages.success(request, f"Flow “{flow.name}” is created from “{template.name}” with its settings.")
    return redirect("flows:flow", flow_id=flow.flow_id)


@require_POST
@scoped(Can.TENANT_PAGES)
def rate(request: HttpRequest, template_id: str) -> HttpResponse:
    error = None
    try:
        template = services.rate_template(request.scope, template_id, request.POST.get("stars"))
    except ValidationFailed as exc:
        template, error = queries.get_template(request.scope, template_id), exc.message
    if wants_partial(request):
        context = _detail_context(request, template, rating_error=error, rated=error is None)
        return render_page(
            request, "marketplace/detail.html", context, partial="rating", status=422 if error else 200
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, "Thanks, your rating is saved.")
    return redirect("marketplace:detail", template_id=template_id)


@require_POST
@scoped(Can.TENANT_PAGES)
def submit(request: HttpRequest, template_id: str) -> HttpResponse:
    try:
        services.submit_for_review(request.scope, template_id, _version(request))
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Submitted: a moderator will review it before it is listed publicly.")
    return redirect("marketplace:detail", template_id=template_id)


@require_POST
@scoped(Can.TENANT_PAGES)
def withdraw(request: HttpRequest, template_id: str) -> HttpResponse:
    try:
        services.withdraw(request.scope, template_id, _version(request))
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Withdrawn: the template is private to your tenant again.")
    return redirect("marketplace:detail", template_id=template_id)


DECISIONS = {
    "approve": "Approved “{name}”: it is listed publicly now.",
    "reject": "Rejected “{name}”; the author sees your reason.",
    "feature": "“{name}” is featured at the top of the catalogue.",
    "unfeature": "“{name}” is no longer featured.",
    "unpublish": "Unpublished “{name}”: it is no longer listed.",
}


@require_POST
@scoped(Can.MODERATE)
def moderate(request: HttpRequest, template_id: str, action: str) -> HttpResponse:
    reason = request.POST.get("reason", "")
    try:
        template = services.moderate(
            request.scope, template_id, action, reason=reason, expected_version=_version(request)
        )
    except (ValidationFailed, Conflict) as exc:
        if wants_partial(request):
            template = queries.get_template(request.scope, template_id)
            context = {"template": template, "error": exc.message, "reason": reason, "tab": _tab(request)}
            return render_page(request, "marketplace/queue.html", context, partial="row", status=exc.status)
        messages.error(request, exc.message)
        return redirect("marketplace:detail", template_id=template_id)
    notice = DECISIONS[action].format(name=template.name)
    if wants_partial(request):
        context = {"template": template, "notice": notice, "tab": _tab(request)}
        return render_page(request, "marketplace/queue.html", context, partial="row")
    messages.success(request, notice)
    return redirect("marketplace:detail", template_id=template_id)


QUEUE_TABS = ("pending", "rejected", "listed")


def _tab(request: HttpRequest) -> str:
    tab = request.GET.get("tab") or request.POST.get("tab")
    return tab if tab in QUEUE_TABS else "pending"


@scoped(Can.MODERATE)
def queue(request: HttpRequest) -> HttpResponse:
    tab = _tab(request)
    cursor = request.GET.get("cursor") or None
    if tab == "listed":
        page = queries.listed(request.scope, cursor=cursor)
    else:
        page = queries.moderation_queue(request.scope, cursor=cursor, status=tab)
    context = {"page": page, "tab": tab, "queue_url": reverse("marketplace:queue")}
    return render_page(request, "marketplace/queue.html", context, partial="rows")
