"""Cost overview, budget form, CSV export, execution history and detail (thin: services decide)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from dashboard.accounts.access import scoped
from dashboard.accounts.scope import Can
from dashboard.analytics import csv_export, history, services, traces
from dashboard.analytics import overview as overview_service
from dashboard.analytics.forms import BudgetForm, ExecutionFilterForm, PeriodForm, period_from
from dashboard.analytics.inputs import MONTH_PRESETS, PRESETS, resolve_tenant
from dashboard.core.errors import Conflict, ValidationFailed
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
    form = ExecutionFilterForm(request.GET)
    tenant_id = resolve_tenant(request.scope, request.GET.get("tenant") or None)
    page, error = None, None
    if tenant_id is not None:
        try:
            page = history.list_executions(
                request.scope, form.filters(), tenant_id=tenant_id, cursor=request.GET.get("cursor")
            )
        except ValidationFailed as exc:
            error = exc.message
    context = {
        "form": form,
        "page": page,
        "error": error,
        "tenant_id": tenant_id,
        "choices": history_choices(request, tenant_id),
    }
    return render_page(request, "analytics/executions.html", context, partial="executions-table")


def history_choices(request: HttpRequest, tenant_id: str | None) -> dict:
    """Agents, models and users seen lately, as suggestions for the filters (rollups, 3 queries)."""
    if tenant_id is None or wants_partial(request):
        return {}
    return overview_service.recent_values(request.scope, tenant_id)


@require_GET
@scoped(Can.TENANT_PAGES)
def execution_detail(request: HttpRequest, execution_id: str) -> HttpResponse:
    execution = history.get_execution(request.scope, execution_id, request.GET.get("tenant") or None)
    context = {"execution": execution, "trace": traces.execution_steps(execution)}
    return render(request, "analytics/execution_detail.html", context)
