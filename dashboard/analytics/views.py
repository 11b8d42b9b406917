"""Cost overview, budget form, CSV export, execution history and detail (thin: services decide)."""

from __future__ import annotations

import difflib

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from dashboard.accounts.access import scoped
from dashboard.accounts.queries import people_of
from dashboard.accounts.scope import Can
from dashboard.analytics import csv_export, queries, services, traces
from dashboard.analytics import overview as overview_service
from dashboard.analytics.forms import BudgetForm, ExecutionFilterForm, PeriodForm, period_from
from dashboard.analytics.inputs import MONTH_PRESETS, PRESETS, resolve_tenant
from dashboard.core.errors import Conflict, NotFound, ValidationFailed
from dashboard.core.forms import add_service_errors
from dashboard.core.http import render_page, wants_partial

TEMPLATE = "analytics/overview.html"


def _overview_context(
    request: HttpRequest, period_form: PeriodForm, budget_form: BudgetForm | None = None
) -> dict:
    try:
        period = period_form.period_value()
        period_error = None
    except ValidationFailed as exc:
        period_error = exc
        period = PeriodForm({}).period_value()
    tenant = request.GET.get("tenant") or None
    data = overview_service.build(request.scope, period, tenant or None)
    sort = request.GET.get("sort") if request.GET.get("sort") in overview_service.SORTS else "cost"
    data.sort_tops(sort)
    if budget_form is None and data.tenant_id:
        initial_budget = data.budget.budget_micro_usd if data.budget else None
        budget_form = BudgetForm(
            initial={
                "budget": f"{initial_budget / 1_000_000:.2f}" if initial_budget else None,
                "version": data.budget_version,
                "tenant": data.tenant_id if request.scope.is_staff else "",
            }
        )
    query = urlencode({**period.query_args(), **({"tenant": tenant} if tenant else {})})
    return {
        "overview": data,
        "period_form": period_form,
        "period_error": period_error,
        "presets": PRESETS,
        "month_presets": MONTH_PRESETS,
        "sort": sort,
        "budget_form": budget_form,
        "query": query,
        "tenant_param": tenant or "",
    }


@require_GET
@scoped(Can.TENANT_PAGES)
def overview(request: HttpRequest) -> HttpResponse:
    context = _overview_context(request, PeriodForm(request.GET))
    return render_page(request, TEMPLATE, context, partial="overview-body")


@require_POST
@scoped(Can.TENANT_PAGES)
def set_budget(request: HttpRequest) -> HttpResponse:
    form = BudgetForm(request.POST)
    period_form = PeriodForm(request.GET)
    if form.is_valid():
        try:
            services.set_budget(
                request.scope,
                form.cleaned_data["tenant"] or None,
                form.budget_micro_usd(),
                form.cleaned_data["version"],
            )
        except (Conflict, ValidationFailed) as exc:
            add_service_errors(form, exc)
        else:
            if not wants_partial(request):
                messages.success(request, "Budget saved.")
                tenant = form.cleaned_data["tenant"]
                return redirect(
                    reverse("analytics:overview") + (f"?{urlencode({'tenant': tenant})}" if tenant else "")
                )
            form = None  # a fresh form with the new version
    context = _overview_context(request, period_form, budget_form=form)
    if form is None:
        context["budget_saved"] = True
    status = 200 if form is None or (form.is_valid() and not form.errors) else 422
    return render_page(request, TEMPLATE, context, partial="budget-card", status=status)


@require_GET
@scoped(Can.TENANT_PAGES)
def export_csv(request: HttpRequest) -> HttpResponse:
    period, tenant = period_from(request.GET)
    data = overview_service.build(request.scope, period, tenant)
    return csv_export.response(data)


@require_GET
@scoped(Can.TENANT_PAGES)
def executions(request: HttpRequest) -> HttpResponse:
    """The filtered execution history, a page at a time, with totals of the whole filtered set (the
    same on every page, never the sum of the rows shown).

    DynamoDB calls: the page at most queries.MAX_CALLS (4) queries (2 × that going back to the first
    page); the totals 1 (a rollup query or BatchGet) where a rollup holds the filters, else at most
    queries.TOTALS_CALLS (10) queries of the matching executions, shown only if those read them all
    (see queries.filtered_totals); user names 1 BatchGet; on a full page the filter suggestions 3
    ranked-rollup reads (queries.top), also when nothing matches an agent or user typed in. At most
    23, whatever the number of executions; 14 when a rollup holds the filters.
    """
    form = ExecutionFilterForm(request.GET)
    tenant_id = resolve_tenant(request.scope, request.GET.get("tenant") or None)
    sort = request.GET.get("sort") if request.GET.get("sort") in queries.SORTS else "started"
    page, error, totals, filters, suggestions = None, None, None, None, {}
    rows: list = []
    if tenant_id is not None:
        try:
            filters = form.filters()
            page = queries.list_executions(
                request.scope,
                filters,
                tenant_id=tenant_id,
                cursor=request.GET.get("cursor"),
                before=request.GET.get("before"),
                limit=queries.PAGE_SIZE if sort == "started" else queries.SORT_WINDOW,
            )
        except ValidationFailed as exc:
            error = exc.message
        except NotFound:
            # An agent id no agent can have: nothing matches, which the suggestions below explain.
            page = queries.ExecutionPage(items=[], next_cursor=None)
        if page is not None:
            rows = queries.sort_rows(page.items, sort)
            totals = queries.filtered_totals(tenant_id, filters)
            if not rows and not page.next_cursor and (filters.agent_id or filters.user_id):
                suggestions = _suggestions(request, tenant_id, filters)
    choices = history_choices(request, tenant_id)
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "error": error,
        "tenant_id": tenant_id,
        "choices": choices,
        "sort": sort,
        "sorts": queries.SORTS,
        "sort_label": queries.SORTS[sort],
        "totals": totals,
        "suggestions": suggestions,
        "people": people_of([row.user_id for row in rows], tenant_id) if rows else {},
        "export_query": _without(request.GET, "cursor", "before", "sort"),
    }
    return render_page(request, "analytics/executions.html", context, partial="executions-table")


def history_choices(request: HttpRequest, tenant_id: str | None) -> dict:
    """Agents, models and users seen lately, as suggestions for the filters (rollups, 3 queries)."""
    if tenant_id is None or wants_partial(request):
        return {}
    return overview_service.recent_values(request.scope, tenant_id)


def _without(params, *names: str) -> str:
    kept = params.copy()
    for name in names:
        kept.pop(name, None)
    return kept.urlencode()


def _suggestions(request: HttpRequest, tenant_id: str, filters) -> dict[str, list[str]]:
    """Close spellings of the agent or user typed in, among those seen lately (else the busiest)."""
    seen = overview_service.recent_values(request.scope, tenant_id)
    found = {}
    for dimension, typed in (("agent", filters.agent_id), ("user", filters.user_id)):
        if typed:
            known = seen.get(dimension, [])
            close = difflib.get_close_matches(typed, known, n=5, cutoff=0.5)
            found[dimension] = close or known[:5]
    return found


@require_GET
@scoped(Can.TENANT_PAGES)
def executions_csv(request: HttpRequest) -> HttpResponse:
    """The filtered executions as CSV, newest first: at most queries.EXPORT_ROWS rows in at most
    queries.EXPORT_CALLS DynamoDB queries; a response header says when more matched."""
    form = ExecutionFilterForm(request.GET)
    try:
        filters = form.filters()
    except ValidationFailed:
        # The list page explains what is wrong with the filters, next to them.
        return redirect(reverse("analytics:executions") + "?" + request.GET.urlencode())
    tenant_id = resolve_tenant(request.scope, request.GET.get("tenant") or None)
    try:
        rows = list(queries.export_rows(request.scope, filters, tenant_id))
    except NotFound:
        rows = [False]
    return csv_export.executions_response(rows[:-1], more=bool(rows[-1]))


@require_GET
@scoped(Can.TENANT_PAGES)
def execution_detail(request: HttpRequest, execution_id: str) -> HttpResponse:
    """One execution with its links onward. DynamoDB calls: 1 query for the execution, the trace's
    reads (dashboard.analytics.traces), 1 BatchGet for its user's name."""
    execution = queries.get_execution(request.scope, execution_id, request.GET.get("tenant") or None)
    context = {
        "execution": execution,
        "trace": traces.execution_steps(execution),
        "people": people_of([execution.user_id], execution.tenant_id),
    }
    return render_page(request, "analytics/execution_detail.html", context)
