"""Cost overview, budget form, CSV export, execution history and detail (thin: services decide)."""

from __future__ import annotations

import difflib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dashboard.accounts.access import scoped
from dashboard.accounts.queries import get_tenant, list_tenants, people_of
from dashboard.analytics import csv_export, pricing, queries, repricing, services
from dashboard.analytics.forms import (
    BudgetForm,
    ExecutionFilterForm,
    MetadataKeysForm,
    PeriodForm,
    PriceForm,
    RepriceForm,
    period_from,
)
from dashboard.analytics.inputs import (
    MONTH_PRESETS,
    PRESETS,
    RATE_NAMES,
    OverviewFilter,
    Period,
    overview_filter,
    resolve_tenant,
)
from dashboard.analytics.overview import SORTS as TOP_SORTS
from dashboard.analytics.overview import build as build_overview
from dashboard.core import clock, worker
from dashboard.core.errors import Conflict, NotFound, ValidationFailed
from dashboard.core.forms import add_service_errors
from dashboard.core.http import DashboardRequest, csv_response, render_page, wants_partial
from dashboard.core.scope import Can

TEMPLATE = "analytics/overview.html"


def _asked_period(period_form: PeriodForm) -> tuple[Period, ValidationFailed | None]:
    """The period a form asks for; or, when it cannot be read, the default one and why (the page
    shows the reason beside the form rather than refusing to show anything)."""
    try:
        return period_form.period_value(), None
    except ValidationFailed as exc:
        return PeriodForm({}).period_value(), exc


def _overview_context(
    request: DashboardRequest, period_form: PeriodForm, budget_form: BudgetForm | None = None
) -> dict:
    period, period_error = _asked_period(period_form)
    tenant = request.GET.get("tenant") or None
    chosen, filter_error = _asked_filter(request)
    try:
        data = build_overview(request.scope, period, tenant or None, filter=chosen)
    except ValidationFailed as exc:  # a filter over every tenant: the unfiltered page, and why
        chosen, filter_error = OverviewFilter(), exc
        data = build_overview(request.scope, period, tenant or None)
    sort = request.GET.get("sort") if request.GET.get("sort") in TOP_SORTS else "cost"
    data.sort_tops(sort)
    for key, rows in data.top_metadata:  # `metadata.<key>` is no keyword of `{% url_with %}`
        for row in rows:
            query = {
                **period.query_args(),
                **({"tenant": tenant} if tenant else {}),
                f"metadata.{key}": row.value,
            }
            row.link = f"{reverse('analytics:overview')}?{urlencode(query)}"
    if budget_form is None and data.tenant_id:
        initial_budget = data.budget.budget_micro_usd if data.budget else None
        budget_form = BudgetForm(
            initial={
                "budget": f"{initial_budget / 1_000_000:.2f}" if initial_budget else None,
                "version": data.budget_version,
                "tenant": data.tenant_id if request.scope.is_staff else "",
            }
        )
    query = urlencode(
        {**period.query_args(), **({"tenant": tenant} if tenant else {}), **chosen.query_args()}
    )
    return {
        "overview": data,
        "period_form": period_form,
        "period_error": period_error,
        "filter_error": filter_error,
        "unfiltered_query": urlencode({**period.query_args(), **({"tenant": tenant} if tenant else {})}),
        "period_args": period.query_args(),
        "presets": PRESETS,
        "month_presets": MONTH_PRESETS,
        "sort": sort,
        "budget_form": budget_form,
        "query": query,
        "tenant_param": tenant or "",
    }


@require_GET
@scoped(Can.TENANT_PAGES)
def overview(request: DashboardRequest) -> HttpResponse:
    context = _overview_context(request, PeriodForm(request.GET))
    return render_page(request, TEMPLATE, context, partial="overview-body")


@require_POST
@scoped(Can.TENANT_PAGES)
def set_budget(request: DashboardRequest) -> HttpResponse:
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


@require_http_methods(["GET", "POST"])
@scoped(Can.TENANT_PAGES)
def metadata_dimensions(request: DashboardRequest) -> HttpResponse:
    """The metadata keys the tenant counts as overview dimensions (issue #28 §2): a tenant admin or
    staff chooses up to 5 (versioned, audited). Call budget: 1 GetItem (the tenant); a change adds 1
    TransactWriteItems."""
    tenant_id = resolve_tenant(request.scope, request.GET.get("tenant") or None)
    if tenant_id is None:  # staff over every tenant: the page is about one
        return render_page(request, "analytics/dimensions.html", {"tenant": None, "form": None})
    tenant = get_tenant(tenant_id)
    keys = list(tenant.metadata_dimensions or [])
    form = MetadataKeysForm(initial={"metadata_dimensions": ", ".join(keys), "version": tenant.version})
    status = 200
    if request.method == "POST":
        form = MetadataKeysForm(request.POST)
        if form.is_valid():
            try:
                services.set_metadata_dimensions(
                    request.scope, tenant_id, form.key_list(), form.cleaned_data["version"]
                )
            except (Conflict, ValidationFailed) as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Metadata keys saved: runs recorded from now on count them.")
                tenant_query = f"?{urlencode({'tenant': tenant_id})}" if request.scope.is_staff else ""
                return redirect(reverse("analytics:overview") + tenant_query)
        status = 422
    context = {"tenant": tenant, "keys": keys, "form": form, "tenant_param": request.GET.get("tenant") or ""}
    return render_page(request, "analytics/dimensions.html", context, status=status)


def _asked_filter(request: DashboardRequest) -> tuple[OverviewFilter, ValidationFailed | None]:
    """The overview's filter (`environment`, `tag`); one that cannot be read: none, and why (the page
    shows the reason beside the filter, as it does for a period)."""
    try:
        return overview_filter(request.GET.get("environment"), request.GET.get("tag"), request.GET), None
    except ValidationFailed as exc:
        return OverviewFilter(), exc


@require_GET
@scoped(Can.TENANT_PAGES)
def export_csv(request: DashboardRequest) -> HttpResponse:
    period, tenant = period_from(request.GET)
    chosen = overview_filter(request.GET.get("environment"), request.GET.get("tag"), request.GET)
    data = build_overview(request.scope, period, tenant, filter=chosen)
    return csv_response(csv_export.filename(data), csv_export.rows(data))


@require_GET
@scoped(Can.TENANT_PAGES)
def executions(request: DashboardRequest) -> HttpResponse:
    """The filtered execution history, a page at a time, with totals of the whole filtered set (the
    same on every page, never the sum of the rows shown).

    DynamoDB calls: the page at most queries.history.MAX_CALLS (4) queries (2 × that going back to the first
    page); the totals 1 (a rollup query or BatchGet) where a rollup holds the filters, else at most
    queries.history.TOTALS_CALLS (10) queries of the matching executions, shown only if those read them all
    (see queries.filtered_totals); user names 1 BatchGet; on a full page the filter suggestions 3
    ranked-rollup reads (queries.top), also when nothing matches an agent or user typed in; the models
    without a price 1 query of the daily model rows (the filtered range, else the last 30 days). At
    most 24, whatever the number of executions; 15 when a rollup holds the filters. Environment, tag
    and session filters are filter expressions within the page's 4 queries (of at most
    queries.history.FILTERED_READ items each); no rollup holds them, so their totals are counted.
    """
    form = ExecutionFilterForm(request.GET)
    tenant_id = resolve_tenant(request.scope, request.GET.get("tenant") or None)
    sort = request.GET.get("sort") if request.GET.get("sort") in queries.SORTS else "started"
    page, error, totals, filters, suggestions = None, None, None, None, {}
    unpriced, unpriced_range = [], None
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
            today = clock.now().date()
            unpriced_range = (filters.start or today - timedelta(days=29), min(filters.end or today, today))
            unpriced = queries.unpriced_models(tenant_id, *unpriced_range)
            if filters.model:
                unpriced = [row for row in unpriced if row.model == filters.model]
            if not rows and not page.next_cursor and (filters.agent_id or filters.user_id):
                suggestions = _suggestions(request, tenant_id, filters)
    choices = _history_choices(request, tenant_id)
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "error": error,
        "tenant_id": tenant_id,
        # Staff read any tenant's executions, so their links name the tenant (a tenant's own never do).
        "tenant_param": (tenant_id or "") if request.scope.is_staff else "",
        "choices": choices,
        "sort": sort,
        "sorts": queries.SORTS,
        "sort_label": queries.SORTS[sort],
        "totals": totals,
        "suggestions": suggestions,
        "unpriced": unpriced,
        "unpriced_range": f"from {unpriced_range[0]:%b %-d} to {unpriced_range[1]:%b %-d}"
        if unpriced_range
        else "",
        "people": people_of([row.user_id for row in rows], tenant_id) if rows else {},
        "export_query": _without(request.GET, "cursor", "before", "sort"),
    }
    return render_page(request, "analytics/executions.html", context, partial="executions-table")


def _history_choices(request: DashboardRequest, tenant_id: str | None) -> dict:
    """Agents, models and users seen lately, as suggestions for the filters (rollups, 3 queries)."""
    if tenant_id is None or wants_partial(request):
        return {}
    return queries.filter_suggestions(request.scope, tenant_id)


def _without(params, *names: str) -> str:
    kept = params.copy()
    for name in names:
        kept.pop(name, None)
    return kept.urlencode()


def _suggestions(request: DashboardRequest, tenant_id: str, filters) -> dict[str, list[str]]:
    """Close spellings of the agent or user typed in, among those seen lately (else the busiest)."""
    seen = queries.filter_suggestions(request.scope, tenant_id)
    found = {}
    for dimension, typed in (("agent", filters.agent_id), ("user", filters.user_id)):
        if typed:
            known = seen.get(dimension, [])
            close = difflib.get_close_matches(typed, known, n=5, cutoff=0.5)
            found[dimension] = close or known[:5]
    return found


@require_GET
@scoped(Can.TENANT_PAGES)
def executions_csv(request: DashboardRequest) -> HttpResponse:
    """The filtered executions as CSV, newest first: at most queries.EXPORT_ROWS rows in at most
    queries.history.EXPORT_CALLS DynamoDB queries; a response header says when more matched."""
    form = ExecutionFilterForm(request.GET)
    try:
        filters = form.filters()
    except ValidationFailed:
        # The list page explains what is wrong with the filters, next to them.
        return redirect(reverse("analytics:executions") + "?" + request.GET.urlencode())
    tenant_id = resolve_tenant(request.scope, request.GET.get("tenant") or None)
    try:
        export = queries.export_rows(request.scope, filters, tenant_id)
    except NotFound:  # an agent id that cannot exist: nothing matches
        export = queries.Export([], truncated=False)
    return csv_response(
        "executions.csv", csv_export.execution_rows(export.executions), truncated=export.truncated
    )


@require_GET
@scoped(Can.TENANT_PAGES)
def execution_detail(request: DashboardRequest, execution_id: str) -> HttpResponse:
    """One execution with its steps and links onward: queries.execution_page (at most 3 calls)."""
    view = queries.execution_page(request.scope, execution_id, request.GET.get("tenant") or None)
    metadata = view.execution.metadata
    context = {
        "execution": view.execution,
        "trace": view.trace,
        "people": view.people,
        "metadata": sorted(metadata.as_dict().items()) if metadata is not None else [],
        # Staff read any tenant's executions, so their links onward name the tenant.
        "tenant_param": view.execution.tenant_id if request.scope.is_staff else "",
    }
    return render_page(request, "analytics/execution_detail.html", context)


@require_GET
@scoped(Can.TENANT_PAGES)
def session(request: DashboardRequest, session_id: str) -> HttpResponse:
    """One conversation: its executions in the order they started, a page at a time (htmx swaps the
    rows), its total cost and tokens, its failures and the agents and people in it.

    DynamoDB calls (queries.session_page): the session's figures 1 query of its index (up to 10 for a
    session of thousands of runs), the page at most 4, the names 1 BatchGet (none when no user is a
    dashboard user): 2 for a usual session, 15 at most; the next rows (htmx) skip the figures. Another
    tenant's session, or one without kept executions, is a 404.
    """
    view = queries.session_page(
        request.scope,
        session_id,
        request.GET.get("tenant") or None,
        request.GET.get("cursor"),
        figures=not wants_partial(request),  # the next rows alone: the figures are on the page already
    )
    context = {
        "view": view,
        "summary": view.summary,
        "page": view.page,
        "people": view.people,
        "tenant_param": view.tenant_id if request.scope.is_staff else "",
    }
    return render_page(request, "analytics/session.html", context, partial="session-rows")


@require_GET
@scoped(Can.TENANT_PAGES)
def person(request: DashboardRequest, user_id: str) -> HttpResponse:
    """One end user (a `user_id` the tenant's agents send): cost, runs and failures by day over the
    period (their rollup rows, never the raw executions), their share of the tenant's cost, and their
    latest runs with the sessions and agents among them (htmx pages the runs).

    DynamoDB calls (queries.person_page): the days 1 BatchGet per 100 days, the tenant's total 1
    query, the latest runs at most 4 queries (8 going back to the first page), the name 1 BatchGet
    (none when the id is not a dashboard user's): 3 for a preset period, 14 at most; another page of
    runs (htmx) reads the runs and the name alone. Another tenant's person, or one with nothing kept,
    is a 404.
    """
    period_form = PeriodForm(request.GET)
    period, period_error = _asked_period(period_form)
    tenant = request.GET.get("tenant") or None
    view = queries.person_page(
        request.scope,
        user_id,
        period,
        tenant,
        cursor=request.GET.get("cursor"),
        before=request.GET.get("before"),
        figures=not wants_partial(request),  # another page of runs alone: the figures stay as shown
    )
    context = {
        "view": view,
        "page": view.page,
        "rows": view.page.items,
        "people": view.people,
        "period_error": period_error,
        "presets": PRESETS,
        "month_presets": MONTH_PRESETS,
        "tenant_param": view.tenant_id if request.scope.is_staff else "",
    }
    return render_page(request, "analytics/person.html", context, partial="person-runs")


# --- staff prices and re-pricing -------------------------------------------------------------


def _tenant_choices() -> list[tuple[str, str]]:
    return [(tenant.tenant_id, tenant.name) for tenant in list_tenants()]


def _lookup(request: DashboardRequest) -> dict | None:
    """`?model=…[&provider=…][&tenant=…][&at=YYYY-MM-DD]`: the price that applies, and why."""
    model = (request.GET.get("model") or "").strip()[:128]
    if not model:
        return None
    try:
        at = date.fromisoformat(request.GET.get("at") or "") if request.GET.get("at") else clock.now().date()
    except ValueError:
        return {"model": model, "error": "Enter the day as YYYY-MM-DD."}
    moment = datetime(at.year, at.month, at.day, 12, tzinfo=UTC)
    usage = pricing.Usage(input=1_000_000, output=1_000_000)
    tenant_id = request.GET.get("tenant") or None
    quote = pricing.quote(tenant_id, model, usage, moment, request.GET.get("provider") or None)
    return {"model": model, "at": at, "tenant": tenant_id, "quote": quote}


def _prices_context(
    request: DashboardRequest, form: PriceForm | None = None, reprice: RepriceForm | None = None
):
    tenants = _tenant_choices()
    page = queries.prices_page()
    if form is None:
        initial = {"effective_from": clock.now().date(), "model": request.GET.get("model", "")[:128]}
        edit = request.GET.get("edit", "")
        chosen = next((p for p in page.prices if f"{p.scope}/{p.price_id}" == edit), None)
        if chosen is not None:
            initial = {
                "model": chosen.model,
                "provider": chosen.provider or "",
                "tenant": "" if chosen.scope == pricing.EVERY_TENANT else chosen.scope,
                "effective_from": chosen.effective_from[:10],
                **{name: _usd(getattr(chosen, name)) for name in RATE_NAMES},
                "note": chosen.note,
                "price_id": chosen.price_id,
                "scope": chosen.scope,
                "version": chosen.version,
            }
        form = PriceForm(initial=initial, tenants=tenants)
    if reprice is None:
        since = min((marker.since for marker in page.pending if marker.since), default=None)
        reprice = RepriceForm(
            initial={"start": since or clock.now().date(), "end": clock.now().date()}, tenants=tenants
        )
    return {
        "page": page,
        "form": form,
        "reprice_form": reprice,
        "lookup": _lookup(request),
        "tenant_names": dict(tenants),
        "catalogue": pricing.CATALOGUE,
        "sources": pricing.SOURCE_LABELS,
    }


def _usd(micro) -> str:
    if micro is None:
        return ""
    return f"{Decimal(int(micro)) / Decimal(1_000_000):f}".rstrip("0").rstrip(".") or "0"


@require_GET
@scoped(Can.RUN_PLATFORM)
def prices(request: DashboardRequest) -> HttpResponse:
    """Staff prices over the catalogue, the price any model gets, and re-pricing the past.

    DynamoDB calls: the tenant list 1 (kept per request), the prices 1 query, the changes and runs 1
    query; a look-up the staff prices (kept per process for pricing.cache_seconds())."""
    return render_page(request, "analytics/prices.html", _prices_context(request))


@require_POST
@scoped(Can.RUN_PLATFORM)
def save_price(request: DashboardRequest) -> HttpResponse:
    form = PriceForm(request.POST, tenants=_tenant_choices())
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.save_price(
                request.scope,
                form.value,
                data["price_id"] or None,
                data["version"] if data["price_id"] else None,
            )
        except (Conflict, NotFound, ValidationFailed) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Price for {form.value.model} saved.")
            return redirect(reverse("analytics:prices"))
    return render_page(request, "analytics/prices.html", _prices_context(request, form=form), status=422)


@require_POST
@scoped(Can.RUN_PLATFORM)
def retire_price(request: DashboardRequest, price_scope: str, price_id: str) -> HttpResponse:
    try:
        version = int(request.POST.get("version") or 0) or None
        services.retire_price(request.scope, price_scope, price_id, version)
    except ValueError:
        messages.error(request, "That form was not sent whole; look again and retry.")
    except (Conflict, NotFound) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Price retired: it no longer applies.")
    return redirect(reverse("analytics:prices"))


@require_POST
@scoped(Can.RUN_PLATFORM)
def reprice(request: DashboardRequest) -> HttpResponse:
    form = RepriceForm(request.POST, tenants=_tenant_choices())
    if form.is_valid():
        data = form.cleaned_data
        try:
            job = repricing.start(
                request.scope, data["tenant"] or None, data["start"], data["end"], data["include_client"]
            )
        except (NotFound, ValidationFailed) as exc:
            add_service_errors(form, exc)
        else:
            worker.wake()  # the background worker runs it (here at once when it runs in this process)
            messages.success(
                request, f"Re-pricing {job.start} to {job.end} queued: its progress shows below."
            )
            return redirect(reverse("analytics:prices") + "#runs")
    return render_page(request, "analytics/prices.html", _prices_context(request, reprice=form), status=422)


@require_GET
@scoped(Can.RUN_PLATFORM)
def reprice_run(request: DashboardRequest, job_id: str) -> HttpResponse:
    """One run's progress (polled by the page; 286 stops the polling once it has ended). 1 GetItem
    and, for a run of one tenant, the tenant list (its name)."""
    job = repricing.get_job(job_id)
    names = dict(_tenant_choices()) if job.scope != pricing.EVERY_TENANT else {}
    response = render_page(
        request, "analytics/prices.html", {"job": job, "tenant_names": names}, partial="run-row"
    )
    if wants_partial(request) and job.status not in ("queued", "running"):
        response.status_code = 286
    return response
