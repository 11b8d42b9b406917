"""Experiments, runs and the live log viewer (pages and their htmx partials)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET
from django_htmx.http import HttpResponseStopPolling, trigger_client_event

from dashboard.accounts.access import scoped
from dashboard.core.errors import NotFound, PermissionDenied, ValidationFailed
from dashboard.core.http import DashboardRequest, render_page, wants_partial
from dashboard.core.scope import Can
from dashboard.experiments import queries
from dashboard.experiments.inputs import LogFilters
from dashboard.experiments.models import SEVERITIES
from dashboard.flows import queries as flows
from dashboard.registry import queries as registry

WINDOW = 200


@require_GET
@scoped(Can.TENANT_PAGES)
def experiments(request: DashboardRequest) -> HttpResponse:
    scope = request.scope
    if scope.sees_all_tenants:
        return render_page(
            request,
            "experiments/experiments.html",
            {"all_tenants": True, "running": queries.running_runs(scope)},
        )
    page = queries.list_experiments(scope, cursor=request.GET.get("cursor"))
    return render_page(request, "experiments/experiments.html", {"page": page}, partial="experiment_list")


@require_GET
@scoped(Can.TENANT_PAGES)
def experiment_card(request: DashboardRequest, experiment_id: str) -> HttpResponse:
    """One experiment's runs, polled while any of them is running."""
    summary = queries.experiment_summary(request.scope, experiment_id)
    response = render_page(request, "experiments/experiments.html#experiment_card", {"summary": summary})
    if not summary.has_running:
        return HttpResponseStopPolling(response.content)
    return response


def _project(scope, project_id: str):
    """The experiment's project, to name it (one GetItem); None when it is gone."""
    try:
        return flows.get_project(scope, project_id)
    except (NotFound, PermissionDenied):
        return None


@require_GET
@scoped(Can.TENANT_PAGES)
def experiment(request: DashboardRequest, experiment_id: str) -> HttpResponse:
    """An experiment and a page of its runs; its project is named through one GetItem more."""
    scope = request.scope
    experiment = queries.get_experiment(scope, experiment_id)
    runs = queries.list_runs(scope, experiment_id, cursor=request.GET.get("cursor"))
    names = queries.metric_names(runs.items)
    metric = (
        request.GET.get("metric") if request.GET.get("metric") in names else (names[0] if names else None)
    )
    context = {
        "experiment": experiment,
        "page": runs,
        "project": _project(scope, experiment.project_id),
        "metric_names": names,
        "metric": metric,
        "series": queries.curves(runs.items, metric) if metric else [],
        "chart_runs": queries.MAX_CHART_RUNS,
    }
    if not wants_partial(request):
        context["errors"] = queries.latest_errors(scope, experiment_id)
    # The chart's form asks for its section by name (`part=chart`); the pager gets the runs.
    partial = "chart" if request.GET.get("part") == "chart" else "runs"
    return render_page(
        request, "experiments/experiment.html", context, partial=partial, by_target={"run-chart": "chart"}
    )


@require_GET
@scoped(Can.TENANT_PAGES)
def compare(request: DashboardRequest, experiment_id: str) -> HttpResponse:
    """Two to six runs side by side: parameters, final metrics and one metric's curves."""
    scope = request.scope
    experiment = queries.get_experiment(scope, experiment_id)
    context: dict = {"experiment": experiment, "chosen": request.GET.getlist("run")}
    status = 200
    try:
        context["comparison"] = queries.compare_runs(
            scope, experiment_id, request.GET.getlist("run"), request.GET.get("metric")
        )
    except ValidationFailed as exc:
        context["compare_error"] = exc.message
        context["page"] = queries.list_runs(scope, experiment_id)
        status = 422
    return render_page(
        request, "experiments/compare.html", context, by_target={"run-chart": "chart"}, status=status
    )


def _viewer_url(experiment_id: str, run_id: str, filters: LogFilters, **params) -> str:
    url = reverse("experiments:run_logs", args=[experiment_id, run_id])
    query = {**filters.as_params(), **{key: value for key, value in params.items() if value}}
    return f"{url}?{urlencode(query)}" if query else url


def _run_context(request: DashboardRequest, run) -> dict:
    """The header's facts besides the counters: stalled, final metrics, versions the run produced."""
    return {
        "stalled": queries.is_stalled(run),
        "stalled_after": settings.RUN_STALLED_AFTER_SECONDS,
        "final_metrics": queries.final_metrics(run),
    }


@require_GET
@scoped(Can.TENANT_PAGES)
def run_logs(request: DashboardRequest, experiment_id: str, run_id: str) -> HttpResponse:
    """The live log viewer. Partials: `?after=` (poll), `?before=` (load earlier), filters (viewer).

    `?at=<line key>` opens the viewer around that line, unfiltered and highlighted (a permalink);
    `?error=first|next|prev&from=<line key>` goes to an error line."""
    if "error" in request.GET:
        return _go_to_error(request, experiment_id, run_id)
    filters = LogFilters.from_params(request.GET)
    if wants_partial(request) and "after" in request.GET:
        return _poll(request, experiment_id, run_id, filters)
    at = request.GET.get("at") or None
    around = None
    if at and not request.GET.get("before"):
        filters = LogFilters()  # a line's address shows it among its neighbours, whatever filtered it
        run, around = queries.around(request.scope, experiment_id, run_id, at)
        window = around.window
    else:
        run, window = queries.run_logs(
            request.scope,
            experiment_id,
            run_id,
            filters,
            before=request.GET.get("before"),
            limit=WINDOW,
        )
    context = {
        "run": run,
        "filters": filters,
        "window": window,
        "severities": SEVERITIES,
        "components": sorted(run.components or []),
        "target": around.target.sk if around else None,
        "earlier_url": (
            _viewer_url(experiment_id, run_id, filters, before=around.earlier)
            if around and around.earlier
            else (None if around else _earlier_url(experiment_id, run_id, filters, window))
        ),
        **_run_context(request, run),
    }
    if wants_partial(request) and "before" in request.GET:
        return render_page(request, "experiments/run_logs.html", context, partial="earlier")
    live = run.status in queries.ACTIVE
    # Around a permalinked line, the tail also reads on (every 2 s) when later lines exist.
    more_after = bool(around and not around.complete_after)
    context["tail_url"] = (
        _viewer_url(
            experiment_id,
            run_id,
            filters,
            after=window.lines[-1].sk if window.lines else "",
            t=queries.tail_token(run),
        )
        if live or more_after
        else None
    )
    context["live"] = live or more_after
    context["running"] = live
    if not wants_partial(request):
        context["experiment"] = queries.get_experiment(request.scope, experiment_id)
        context["produced"] = registry.versions_from_run(run.tenant_id, run.experiment_id, run.run_id)
    return render_page(request, "experiments/run_logs.html", context, partial="viewer")


def _go_to_error(request: DashboardRequest, experiment_id: str, run_id: str) -> HttpResponse:
    which = request.GET.get("error", "")
    found = queries.find_error(request.scope, experiment_id, run_id, which, request.GET.get("from"))
    url = reverse("experiments:run_logs", args=[experiment_id, run_id])
    if found is None:
        words = {
            "first": "This run has no error lines.",
            "next": "No error after this line.",
            "prev": "No error before this line.",
        }
        messages.info(request, words.get(which, "No error line found."))
        back = request.GET.get("from")
        return redirect(f"{url}?{urlencode({'at': back})}" if back else url)
    return redirect(f"{url}?{urlencode({'at': found})}")


def _earlier_url(experiment_id: str, run_id: str, filters: LogFilters, window) -> str | None:
    if window.complete or not window.position:
        return None
    return _viewer_url(experiment_id, run_id, filters, before=window.position)


def _poll(request: DashboardRequest, experiment_id: str, run_id: str, filters: LogFilters) -> HttpResponse:
    token = request.GET.get("t", "")
    result = queries.poll(
        request.scope,
        experiment_id,
        run_id,
        filters,
        after=request.GET.get("after"),
        token=token,
        seen_end=request.GET.get("ended") == "1",
        limit=WINDOW,
    )
    window = result.window
    seen_end = result.final_status is not None or request.GET.get("ended") == "1"
    run = queries.get_run(request.scope, experiment_id, run_id)  # the header's counters, kept live
    context = {
        "run": run,
        "head_oob": True,
        "filters": filters,
        **_run_context(request, run),
        "window": window,
        "finished": result.finished,
        "final_status": result.final_status,
        "tail_url": _viewer_url(
            experiment_id,
            run_id,
            filters,
            after=window.position or "",
            t=token,
            ended="1" if seen_end else "",
        ),
        "live": not result.finished,
    }
    response = render_page(request, "experiments/run_logs.html#poll", context)
    if not result.finished:
        return response
    stop = HttpResponseStopPolling(response.content)
    return trigger_client_event(stop, "logs:run-finished", {"status": result.final_status or "finished"})


@require_GET
@scoped(Can.TENANT_PAGES)
def download(request: DashboardRequest, experiment_id: str, run_id: str) -> StreamingHttpResponse:
    result = queries.download(request.scope, experiment_id, run_id, request.GET.get("format", "ndjson"))
    response = StreamingHttpResponse(result.chunks, content_type=result.content_type)
    response["Content-Disposition"] = f'attachment; filename="{result.filename}"'
    return response
