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
from dashboard.experiments.inputs import LogFilters, check_position
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


# The log viewer answers at five addresses, one view each: the viewer with its filters (`logs/`), the
# htmx poll (`logs/tail/`), "load earlier" (`logs/earlier/`), a line's permalink (`logs/lines/<line>/`) and
# error navigation (`logs/errors/<first|next|prev>/`, a redirect to a line's permalink).
#
# The DynamoDB budgets below count a tenant admin's request besides the session and user every signed-in
# request reads; staff pay one query more for each lookup of the experiment's tenant
# (`queries.experiment_tenant`). "A window" is one read of lines (`queries.read_window`):
# one query unfiltered or by component, one per severity at or above a minimum severity (at most five), each
# query at most `queries.MAX_PAGES` pages when a text search filters lines out.

NO_ERROR = {
    "first": "This run has no error lines.",
    "next": "No error after this line.",
    "prev": "No error before this line.",
}


def _logs_url(name: str, experiment_id: str, run_id: str, filters: LogFilters, **params) -> str:
    """The address `experiments:<name>` of the run, keeping the filters; empty `params` are left out."""
    url = reverse(f"experiments:{name}", args=[experiment_id, run_id])
    query = {**filters.as_params(), **{key: value for key, value in params.items() if value}}
    return f"{url}?{urlencode(query)}" if query else url


def _line_url(experiment_id: str, run_id: str, line: str) -> str:
    return reverse("experiments:run_log_line", args=[experiment_id, run_id, line])


def _earlier_url(experiment_id: str, run_id: str, filters: LogFilters, window) -> str | None:
    if window.complete or not window.position:
        return None
    return _logs_url("run_logs_earlier", experiment_id, run_id, filters, before=window.position)


def _run_context(request: DashboardRequest, run) -> dict:
    """The header's facts besides the counters: stalled, final metrics, versions the run produced."""
    return {
        "stalled": queries.is_stalled(run),
        "stalled_after": settings.RUN_STALLED_AFTER_SECONDS,
        "final_metrics": queries.final_metrics(run),
    }


def _viewer_page(
    request: DashboardRequest,
    run,
    window,
    filters: LogFilters,
    *,
    partial: str,
    earlier_url: str | None,
    target: str | None = None,
    more_after: bool = False,
) -> HttpResponse:
    """The viewer around `window`: the whole page (1 GetItem for the experiment, 1 query for the model
    versions from the run), or the `partial` htmx asked for (no read)."""
    live = run.status in queries.ACTIVE
    context = {
        "run": run,
        "filters": filters,
        "window": window,
        "severities": SEVERITIES,
        "components": sorted(run.components or []),
        "target": target,
        "earlier_url": earlier_url,
        # Around a permalinked line, the tail also reads on (every 2 s) when later lines exist.
        "tail_url": (
            _logs_url(
                "run_logs_tail",
                run.experiment_id,
                run.run_id,
                filters,
                after=window.lines[-1].sk if window.lines else "",
                t=queries.tail_token(run),
            )
            if live or more_after
            else None
        ),
        "live": live or more_after,
        "running": live,
        **_run_context(request, run),
    }
    if not wants_partial(request):
        context["experiment"] = queries.get_experiment(request.scope, run.experiment_id)
        context["produced"] = registry.versions_from_run(run.tenant_id, run.experiment_id, run.run_id)
    return render_page(request, "experiments/run_logs.html", context, partial=partial)


@require_GET
@scoped(Can.TENANT_PAGES)
def run_logs(request: DashboardRequest, experiment_id: str, run_id: str) -> HttpResponse:
    """The live log viewer: the run's newest lines, filtered by `severity`, `component` and `q`; the
    filter form asks for the viewer section alone (htmx).

    DynamoDB: the run (1 GetItem) and one window; the whole page as `_viewer_page`. A permalink shared
    as `?at=<line key>` before lines had their own address is redirected there (no read)."""
    if request.GET.get("at"):
        # Checked first: a bad key stays the 422 it always was, and only a sort key fits in the path.
        line = check_position(request.GET["at"], "at")
        return redirect(_line_url(experiment_id, run_id, line), permanent=True)
    filters = LogFilters.from_params(request.GET)
    run, window = queries.run_logs(request.scope, experiment_id, run_id, filters, limit=WINDOW)
    earlier = _earlier_url(experiment_id, run_id, filters, window)
    return _viewer_page(request, run, window, filters, partial="viewer", earlier_url=earlier)


@require_GET
@scoped(Can.TENANT_PAGES)
def run_logs_earlier(request: DashboardRequest, experiment_id: str, run_id: str) -> HttpResponse:
    """The "Load earlier lines" link: the lines just before `before`, with the viewer's filters; htmx
    gets the rows to put above the ones shown, a browser without JavaScript the viewer at that place.

    DynamoDB: the run (1 GetItem) and one window; the whole page as `_viewer_page`."""
    filters = LogFilters.from_params(request.GET)
    run, window = queries.run_logs(
        request.scope, experiment_id, run_id, filters, before=request.GET.get("before"), limit=WINDOW
    )
    earlier = _earlier_url(experiment_id, run_id, filters, window)
    return _viewer_page(request, run, window, filters, partial="earlier", earlier_url=earlier)


@require_GET
@scoped(Can.TENANT_PAGES)
def run_log_line(request: DashboardRequest, experiment_id: str, run_id: str, line: str) -> HttpResponse:
    """A line's permalink (and "show context" on a filtered hit): the viewer around that line,
    unfiltered, the line highlighted.

    DynamoDB: the run (1 GetItem), the line (1 GetItem), 1 query for the lines before it and 1 for
    those after it; the whole page as `_viewer_page`."""
    run, around = queries.around(request.scope, experiment_id, run_id, line)
    filters = LogFilters()  # a line's address shows it among its neighbours, whatever filtered it
    earlier = (
        _logs_url("run_logs_earlier", experiment_id, run_id, filters, before=around.earlier)
        if around.earlier
        else None
    )
    return _viewer_page(
        request,
        run,
        around.window,
        filters,
        partial="viewer",
        earlier_url=earlier,
        target=around.target.sk,
        more_after=not around.complete_after,
    )


@require_GET
@scoped(Can.TENANT_PAGES)
def run_log_error(request: DashboardRequest, experiment_id: str, run_id: str, which: str) -> HttpResponse:
    """Goes to the run's first error line, or the next or previous one from the line `from`: a redirect
    to that line's permalink; when there is none, back to where the reader was, saying so.

    DynamoDB: the run (1 GetItem) and 1 query per error severity (2)."""
    start = request.GET.get("from")
    found = queries.find_error(request.scope, experiment_id, run_id, which, start)  # checks `which`, `from`
    if found is not None:
        return redirect(_line_url(experiment_id, run_id, found))
    messages.info(request, NO_ERROR[which])
    if start:
        return redirect(_line_url(experiment_id, run_id, start))
    return redirect("experiments:run_logs", experiment_id, run_id)


@require_GET
@scoped(Can.TENANT_PAGES)
def run_logs_tail(request: DashboardRequest, experiment_id: str, run_id: str) -> HttpResponse:
    """The viewer's poll (htmx, every 2 s): the lines after `after` with the viewer's filters, the
    header's counters out of band, and 286 once the run ended and every line is shown. Always the
    fragment, as every poll here: it is never an address in the history.

    DynamoDB: with the viewer's token `t`, one window and no run lookup (unfiltered: 1 query); without
    a valid one, the run (1 GetItem) first; a filtered poll that found nothing asks whether the run ended
    (1 query); then the run again for the header's counters (1 GetItem)."""
    filters = LogFilters.from_params(request.GET)
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
        "tail_url": _logs_url(
            "run_logs_tail",
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
