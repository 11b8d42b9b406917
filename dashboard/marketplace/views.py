"""Marketplace pages: browse, detail, create/edit/delete, use, rate, and the moderation queue. Thin."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dashboard.accounts.access import scoped
from dashboard.accounts.queries import list_tenants
from dashboard.analytics.queries.template_costs import template_figures
from dashboard.core.errors import Conflict, DashboardError, PermissionDenied, ValidationFailed
from dashboard.core.forms import add_service_errors
from dashboard.core.http import DashboardRequest, render_page, wants_partial
from dashboard.core.scope import Can
from dashboard.flows import inputs as flow_inputs
from dashboard.flows import queries as flows
from dashboard.flows.definition import layout
from dashboard.marketplace import queries, services
from dashboard.marketplace.forms import (
    EXAMPLE_DEFINITION,
    ApplyUpdateForm,
    FlowTemplateForm,
    TemplateForm,
    UseForm,
    definition_text,
    update_inputs,
)
from dashboard.marketplace.inputs import CATEGORIES, SORTS, VISIBILITY_FILTERS, BrowseFilters, as_version
from dashboard.marketplace.moderation import (
    BULK_ACTIONS,
    CANNED_REASONS,
    can_edit,
    can_moderate,
    can_rate,
    can_use,
    is_author,
)


def _version(request: DashboardRequest) -> int | None:
    return as_version(request.POST.get("version"))


@require_GET
@scoped()
def browse(request: DashboardRequest) -> HttpResponse:
    """The catalogue: a page of cards (and the featured ones on the first page).

    DynamoDB: as `queries.browse` and `queries.featured` (a query each, search words a few more), staff's
    tenant list, then 1 BatchGetItem for every shown card's 30-day figures across tenants (analytics'
    template summaries; none when no card is shown)."""
    scope = request.scope
    filters = BrowseFilters.from_params(request.GET)
    cursor = request.GET.get("cursor") or None
    page = queries.browse(scope, filters, cursor=cursor)
    featured = [] if cursor else queries.featured(scope, filters)
    context = {
        "filters": filters,
        "page": page,
        "featured": featured,
        "figures": template_figures([template.template_id for template in [*featured, *page]]),
        "categories": CATEGORIES,
        "sorts": SORTS,
        "visibilities": VISIBILITY_FILTERS,
        "tenants": list_tenants() if scope.is_staff else [],
        "can_create": scope.can(Can.TENANT_PAGES),
    }
    return render_page(request, "marketplace/browse.html", context, partial="results")


def _detail_context(request: DashboardRequest, template, use_form: UseForm | None = None, **extra) -> dict:
    scope = request.scope
    usable = can_use(scope)
    projects = queries.projects_for_use(scope) if usable else []
    inputs = flow_inputs.input_fields(template.definition, services.secret_inputs(template))
    if use_form is None and projects:
        use_form = UseForm(projects=projects, inputs=inputs, initial={"name": template.name})
    context = {
        "template": template,
        "graph": layout(template.definition),
        "history": list(reversed(template.moderation_history or [])),
        "can_edit": can_edit(scope, template),
        "can_moderate": can_moderate(scope),
        "can_use": usable,
        "can_rate": can_rate(scope, template),
        "is_author": is_author(scope, template),
        "my_rating": queries.my_rating(scope, template.template_id) if can_rate(scope, template) else None,
        "use_form": use_form,
        "inputs": inputs,
        "configured": [node for node in template.definition.get("nodes", []) if node.get("config")],
        "canned_reasons": CANNED_REASONS,
        "figures": template_figures([template.template_id]),
    }
    if can_moderate(scope) or can_edit(scope, template):
        # The review: every node's settings (secrets masked) and what changed since the last approval.
        context["nodes"] = queries.node_settings(template.definition)
        context["secrets_found"] = sum(node.secrets for node in context["nodes"])
        context["since_approved"] = queries.changes_since_approved(template)
    context.update(extra)
    return context


@require_GET
@scoped()
def detail(request: DashboardRequest, template_id: str) -> HttpResponse:
    """One template. DynamoDB: 1 GetItem, the viewer's projects and rating where they may use and rate
    it, and 1 BatchGetItem of its 30-day figures across tenants (analytics' template summary)."""
    template = queries.get_template(request.scope, template_id)
    return render_page(request, "marketplace/detail.html", _detail_context(request, template))


@require_http_methods(["GET", "POST"])
@scoped(Can.TENANT_PAGES)
def create(request: DashboardRequest) -> HttpResponse:
    form = TemplateForm(
        request.POST or None, initial={"visibility": "private", "definition": EXAMPLE_DEFINITION}
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            template = services.create_template(request.scope, form.cleaned_data)
        except DashboardError as exc:
            add_service_errors(form, exc)
            status = exc.status
        else:
            messages.success(request, f"Template “{template.name}” is saved.")
            return redirect("marketplace:detail", template_id=template.template_id)
    return render_page(request, "marketplace/form.html", {"form": form, "template": None}, status=status)


@require_http_methods(["GET", "POST"])
@scoped(Can.TENANT_PAGES)
def edit(request: DashboardRequest, template_id: str) -> HttpResponse:
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
                add_service_errors(form, exc)
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
    return render_page(request, "marketplace/form.html", {"form": form, "template": template}, status=status)


@require_POST
@scoped(Can.TENANT_PAGES)
def delete(request: DashboardRequest, template_id: str) -> HttpResponse:
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
def use(request: DashboardRequest, template_id: str) -> HttpResponse:
    """Create the flow (asking for the secrets the template leaves out) and open it."""
    template = queries.get_template(request.scope, template_id)
    inputs = flow_inputs.input_fields(template.definition, services.secret_inputs(template))
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
        add_service_errors(form, exc)
        context = _detail_context(request, template, use_form=form)
        return render_page(request, "marketplace/detail.html", context, status=exc.status)
    if any(node.get("config") for node in template.definition.get("nodes", [])) or template.inputs:
        messages.success(request, f"Flow “{flow.name}” is created from “{template.name}” with its settings.")
    else:
        messages.success(
            request,
            f"Flow “{flow.name}” is created from “{template.name}”; the template has no node settings, "
            "so its nodes run on their types' defaults.",
        )
    return redirect("flows:flow", flow_id=flow.flow_id)


@require_POST
@scoped(Can.TENANT_PAGES)
def rate(request: DashboardRequest, template_id: str) -> HttpResponse:
    error = None
    try:
        template = services.rate_template(request.scope, template_id, request.POST.get("stars"))
    except (ValidationFailed, PermissionDenied) as exc:
        if isinstance(exc, PermissionDenied) and not wants_partial(request):
            raise
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
def submit(request: DashboardRequest, template_id: str) -> HttpResponse:
    try:
        services.submit_for_review(request.scope, template_id, _version(request))
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Submitted: a moderator will review it before it is listed publicly.")
    return redirect("marketplace:detail", template_id=template_id)


@require_POST
@scoped(Can.TENANT_PAGES)
def withdraw(request: DashboardRequest, template_id: str) -> HttpResponse:
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
def moderate(request: DashboardRequest, template_id: str, action: str) -> HttpResponse:
    reason = request.POST.get("reason", "").strip() or request.POST.get("canned", "").strip()
    try:
        template = services.moderate(
            request.scope,
            template_id,
            action,
            reason=reason,
            expected_version=_version(request),
            confirmed=request.POST.get("confirmed") == "1",
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
    if request.POST.get("tab") in QUEUE_TABS:  # decided from the queue itself (without JavaScript)
        messages.success(request, notice)
        return redirect(reverse("marketplace:queue") + f"?tab={request.POST['tab']}")
    if action in BULK_ACTIONS:
        # Reviewing one after another: the decision leads on to the next template waiting.
        following = queries.next_pending(request.scope, after=template_id)
        if following is None:
            messages.success(request, f"{notice} Nothing else waits for review.")
            return redirect("marketplace:queue")
        messages.success(request, f"{notice} Next in queue: “{following.name}”.")
        return redirect("marketplace:detail", template_id=following.template_id)
    messages.success(request, notice)
    return redirect("marketplace:detail", template_id=template_id)


@require_GET
@scoped(Can.MODERATE)
def confirm_unpublish(request: DashboardRequest, template_id: str) -> HttpResponse:
    """Asks before a listed template leaves the catalogue: a page, or the queue row itself with htmx.

    DynamoDB: 1 GetItem; nothing is written.
    """
    template = queries.get_template(request.scope, template_id, consistent=True)
    tab = request.GET.get("tab") if request.GET.get("tab") in QUEUE_TABS else ""  # "": from the detail page
    context = {"template": template, "confirming": True, "tab": tab}
    if wants_partial(request):
        return render_page(request, "marketplace/queue.html", context, partial="row")
    return render_page(request, "marketplace/confirm_unpublish.html", context)


def _picks(request: DashboardRequest) -> list[tuple[str, int | None]]:
    """The queue's checkboxes: `template` values are `<id>:<version seen>`."""
    picks = []
    for value in request.POST.getlist("template"):
        template_id, _sep, version = value.partition(":")
        picks.append((template_id, as_version(version)))
    return picks


@require_POST
@scoped(Can.MODERATE)
def moderate_bulk(request: DashboardRequest) -> HttpResponse:
    """Approve or reject the selected queue rows with one reason (a canned one, edited or not).

    DynamoDB: as `services.moderate_many`, 3 calls per selected template (at most 25), then the queue
    page it redirects to.
    """
    action = request.POST.get("action", "")
    reason = request.POST.get("reason", "").strip() or request.POST.get("canned", "").strip()
    try:
        outcome = services.moderate_many(request.scope, _picks(request), action, reason=reason)
    except ValidationFailed as exc:
        messages.error(request, exc.message)
        return redirect("marketplace:queue")
    if outcome.decided:
        verb = "Approved" if action == "approve" else "Rejected"
        names = ", ".join(f"“{t.name}”" for t in outcome.decided)
        count = len(outcome.decided)
        messages.success(request, f"{verb} {count} template{'s' if count != 1 else ''}: {names}.")
    for template_id, why in outcome.refused:
        messages.error(request, f"Not decided ({template_id}): {why}")
    return redirect("marketplace:queue")


@require_GET
@scoped(Can.MODERATE)
def pending_badge(request: DashboardRequest) -> HttpResponse:
    """The navigation's count of templates waiting for review, loaded after the page.

    DynamoDB: one Select=COUNT query on the sparse queue GSI, capped (see `queries.pending_count`).
    """
    count = queries.pending_count(request.scope)
    return render_page(request, "marketplace/badge.html", {"count": count, "cap": queries.PENDING_CAP})


QUEUE_TABS = ("pending", "rejected", "listed")


def _tab(request: DashboardRequest) -> str:
    tab = request.GET.get("tab") or request.POST.get("tab")
    return tab if tab in QUEUE_TABS else "pending"


@require_GET
@scoped(Can.MODERATE)
def queue(request: DashboardRequest) -> HttpResponse:
    """The moderation queue (pending, rejected or listed). DynamoDB: 1 query of the tab's page, then 1
    BatchGetItem for the page's 30-day figures across tenants (the cards' figures, the same rule)."""
    tab = _tab(request)
    cursor = request.GET.get("cursor") or None
    if tab == "listed":
        page = queries.listed(request.scope, cursor=cursor)
    else:
        page = queries.moderation_queue(request.scope, cursor=cursor, status=tab)
    context = {
        "page": page,
        "figures": template_figures([template.template_id for template in page]),
        "tab": tab,
        "queue_url": reverse("marketplace:queue"),
        "canned_reasons": CANNED_REASONS,
    }
    return render_page(request, "marketplace/queue.html", context, partial="rows")


# --- a flow and its template: saving a flow as a template, bringing it to a newer version ------
#
# Pages under /flows/<id>/template/ (dashboard/urls.py mounts `flow_patterns` there): the flow is
# the flows area's, read through its queries; the template, its forms and rules are the marketplace's.


@require_http_methods(["GET", "POST"])
@scoped(Can.TENANT_PAGES)
def save_flow_as_template(request: DashboardRequest, flow_id: str) -> HttpResponse:
    """Save the flow (graph and node settings) as a template; stored secrets become required inputs.
    DynamoDB calls: the flow and its definition (flows.queries.template_definition), then the save."""
    scope = request.scope
    flow = flows.get_flow(scope, flow_id)
    definition, inputs = flows.template_definition(scope, flow)
    form = FlowTemplateForm(
        request.POST or None,
        initial={"name": flow.name[:80], "description": flow.description, "visibility": "private"},
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            template = services.template_from_flow(scope, flow_id, form.cleaned_data)
        except DashboardError as exc:
            add_service_errors(form, exc)
            status = exc.status
        else:
            review = " A moderator reviews it before it is listed." if template.visibility == "public" else ""
            messages.success(request, f"Template “{template.name}” is saved from this flow.{review}")
            if template.setting_problems:
                count = len(template.setting_problems)
                messages.warning(
                    request,
                    f"{count} node setting{'s' if count != 1 else ''} break{'' if count != 1 else 's'} "
                    "its node type's rules (listed on the template): fix them in the flow and save again.",
                )
            return redirect("marketplace:detail", template_id=template.template_id)
    elif request.method == "POST":
        status = 422
    context = {
        "flow": flow,
        "form": form,
        "inputs": flow_inputs.input_fields(definition, inputs),
        "configured": [node for node in definition["nodes"] if node.get("config")],
    }
    return render_page(request, "marketplace/save_from_flow.html", context, status=status)


@require_POST
@scoped(Can.TENANT_PAGES)
def apply_flow_update(request: DashboardRequest, flow_id: str) -> HttpResponse:
    """Bring the flow to its template's newer version (own node settings kept unless asked otherwise).
    When the update is refused, the flow page again with the reasons on the update form."""
    scope = request.scope
    flow = flows.get_flow(scope, flow_id)
    update = services.update_for_flow(scope, flow)
    template = update.template if update is not None else None
    form = ApplyUpdateForm(request.POST, inputs=update_inputs(template) if template else [])
    if not form.is_valid():
        messages.error(request, "Reload the flow and apply the update again.")
        return redirect("flows:flow", flow_id=flow_id)
    try:
        services.apply_update(
            scope,
            flow_id,
            template_version=form.cleaned_data["template_version"],
            flow_version=form.cleaned_data["flow_version"],
            values=request.POST.dict(),
            take_template_settings=form.cleaned_data["take_template_settings"],
        )
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect("flows:flow", flow_id=flow_id)
    except ValidationFailed as exc:
        add_service_errors(form, exc)
        context = {
            "flow": flow,
            "nodes": flows.list_nodes(scope, flow),
            "edges": flows.list_edges(scope, flow),
            "snapshots": flows.list_snapshots(scope, flow),
            "project": flows.get_project(scope, flow.project_id),
            "update": update,
            "update_form": form,
            "can_save_template": scope.can(Can.TENANT_DATA) and scope.tenant_id is not None,
        }
        return render_page(request, "flows/flow.html", context, status=exc.status)
    messages.success(request, f"The flow now follows version {template.version} of “{template.name}”.")
    return redirect("flows:flow", flow_id=flow_id)
