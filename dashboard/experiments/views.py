"""Experiments, runs and the live log viewer (pages and their htmx partials)."""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseStopPolling, trigger_client_event

from dashboard.accounts.access import scoped
from dashboard.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from dashboard.core.http import DashboardRequest, render_page, wants_partial
from dashboard.core.scope import Can
from dashboard.experiments import queries, services
from dashboard.experiments.inputs import FIELD_FILTER_HELP, LogFilters, check_position
from dashboard.experiments.models import SEVERITIES
from dashboard.flows import queries as flows
from dashboard.registry import queries as registry

WINDOW = 200
COLUMN = re.compile(r"^[A-Za-z_][\w.-]{0,63}$")


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
    """An experiment and a page of its runs; its project is named through one GetItem more; the whole
    page adds the log volume of every run (1–2 queries of counter rows, `?from=&to=` narrows it)."""
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
        "newest_two": [run.run_id for run in runs.items[:2]],  # the "compare the two newest" link
        "project": _project(scope, experiment.project_id),
        "metric_names": names,
        "metric": metric,
        "series": queries.curves(runs.items, metric) if metric else [],
        "chart_runs": queries.MAX_CHART_RUNS,
    }
    if not wants_partial(request):
        context["errors"] = queries.latest_errors(scope, experiment_id)
        window = LogFilters.from_params({"from": request.GET.get("from"), "to": request.GET.get("to")})
        histogram = queries.histogram(experiment.experiment_key, window)
        context["volume"] = histogram
        context["volume_series"] = histogram.series()
        context["windowed"] = window.windowed
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
    filter_error: str = "",
    status: int = 200,
) -> HttpResponse:
    """The viewer around `window`: the whole page (1 GetItem for the experiment, 1 query for the model
    versions from the run, 1 query for the saved views), or the `partial` htmx asked for; both with the
    histogram of the window (1–2 queries, `queries.run_volume`) and the experiment's columns (1 GetItem)."""
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
        "filter_error": filter_error,
        "field_filter_help": FIELD_FILTER_HELP,
        **_run_context(request, run),
    }
    full = not wants_partial(request)
    if partial == "viewer" or full:
        experiment = queries.get_experiment(request.scope, run.experiment_id)
        context["experiment"] = experiment
        context["columns"] = queries.log_columns(experiment)
        context.update(_volume_context(run, filters, bool(filter_error)))
    else:
        context["columns"] = _columns_param(request)
    if context["columns"]:
        # The poll and "load earlier" draw the same columns without reading them again.
        cols = urlencode({"cols": ",".join(context["columns"])})
        for name in ("tail_url", "earlier_url"):
            if context[name]:
                context[name] += ("&" if "?" in context[name] else "?") + cols
    if full:
        context["produced"] = registry.versions_from_run(run.tenant_id, run.experiment_id, run.run_id)
        context["views"] = queries.saved_views(context["experiment"])
    return render_page(request, "experiments/run_logs.html", context, partial=partial, status=status)


def _kept_filters(params) -> LogFilters:
    """The filters as typed, unchecked, to show them again beside the message that refused them."""
    return LogFilters(
        severity=params.get("severity", "") if params.get("severity") in SEVERITIES else "",
        component=(params.get("component") or "")[:64],
        text=(params.get("q") or "")[:1000],
        regex=params.get("regex") in ("1", "true", "on"),
        where=(params.get("where") or "")[:300],
    )


def _columns_param(request: DashboardRequest) -> list[str]:
    """The columns the page shows, carried in the poll's and "earlier" addresses (no read for them)."""
    names = [name for name in (request.GET.get("cols") or "").split(",") if name]
    return [name for name in names if COLUMN.match(name)][:8]


def _volume_context(run, filters: LogFilters, failed: bool) -> dict:
    """The histogram above the lines: counts kept at ingestion (1–2 queries), polled while the run is live."""
    if failed:
        return {
            "volume": None,
            "volume_url": None,
            "volume_live": False,
            "volume_series": None,
            "whole_run_url": "",
        }
    view = queries.histogram(run.run_key, filters)
    params = {**filters.as_params()}
    url = reverse("experiments:run_log_volume", args=[run.experiment_id, run.run_id])
    return {
        "volume": view,
        "volume_series": view.series(),
        "volume_url": f"{url}?{urlencode(params)}" if params else url,
        "volume_live": run.status in queries.ACTIVE and filters.end_ms is None,
        "whole_run_url": _logs_url("run_logs", run.experiment_id, run.run_id, filters.without_window()),
    }


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
    try:
        filters = LogFilters.from_params(request.GET)
    except ValidationFailed as exc:
        # A search RE2 refuses or a field filter not understood: said beside the form, nothing read.
        run = queries.get_run(request.scope, experiment_id, run_id)
        window = queries.Window(lines=[], position=None, complete=True)
        return _viewer_page(
            request, run, window, _kept_filters(request.GET), partial="viewer", earlier_url=None,
            filter_error=exc.message, status=422,
        )  # fmt: skip
    run, window = queries.viewer_window(request.scope, experiment_id, run_id, filters, limit=WINDOW)
    earlier = _earlier_url(experiment_id, run_id, filters, window)
    return _viewer_page(request, run, window, filters, partial="viewer", earlier_url=earlier)


@require_GET
@scoped(Can.TENANT_PAGES)
def run_logs_earlier(request: DashboardRequest, experiment_id: str, run_id: str) -> HttpResponse:
    """The "Load earlier lines" link: the lines just before `before`, with the viewer's filters; htmx
    gets the rows to put above the ones shown, a browser without JavaScript the viewer at that place.

    DynamoDB: the run (1 GetItem) and one window; the whole page as `_viewer_page`."""
    filters = LogFilters.from_params(request.GET)
    run, window = queries.viewer_window(
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
            cols=",".join(_columns_param(request)),
        ),
        "live": not result.finished,
        "columns": _columns_param(request),
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


@require_GET
@scoped(Can.TENANT_PAGES)
def run_log_volume(request: DashboardRequest, experiment_id: str, run_id: str) -> HttpResponse:
    """The histogram above the lines alone, polled (htmx, every 5 s) while the run is live and the
    window open-ended; 286 once the run ended.

    DynamoDB: the run (1 GetItem) and the histogram (1–2 queries of counter rows, never the lines)."""
    filters = LogFilters.from_params(request.GET)
    run = queries.get_run(request.scope, experiment_id, run_id)
    context = {"run": run, "filters": filters, **_volume_context(run, filters, False)}
    response = render_page(request, "experiments/run_logs.html#volume", context)
    if context["volume_live"]:
        return response
    return HttpResponseStopPolling(response.content)


@require_GET
@scoped(Can.TENANT_PAGES)
def run_log_patterns(request: DashboardRequest, experiment_id: str, run_id: str) -> HttpResponse:
    """The run's log as a page of patterns (templates mined at ingestion), most frequent first; each
    opens the viewer filtered to its lines.

    DynamoDB: the run (1 GetItem), its pattern state (1 GetItem), the experiment (1 GetItem)."""
    view = queries.run_patterns(request.scope, experiment_id, run_id)
    context = {
        "run": view.run,
        "patterns": view.patterns,
        "mined": view.mined,
        "experiment": queries.get_experiment(request.scope, experiment_id),
    }
    return render_page(request, "experiments/log_patterns.html", context)


@require_http_methods(["POST"])
@scoped(Can.TENANT_PAGES)
def save_log_view(request: DashboardRequest, experiment_id: str, run_id: str) -> HttpResponse:
    """Save the viewer's filters under a name for the experiment, then show the run with the view.

    DynamoDB: the experiment (1 GetItem), its views (1 query), the view and its audit event (1 transaction)."""
    try:
        view = services.save_view(request.scope, experiment_id, request.POST.get("name"), request.POST)
    except ValidationFailed as exc:
        messages.error(request, exc.message)
        kept = {key: request.POST.get(key) for key in services.VIEW_PARAMS if request.POST.get(key)}
        return redirect(_plain_url("run_logs", experiment_id, run_id, kept))
    messages.success(request, f"Saved the view “{view.sk}” for this experiment.")
    return redirect(_plain_url("run_logs", experiment_id, run_id, view.params))


@require_http_methods(["POST"])
@scoped(Can.TENANT_PAGES)
def delete_log_view(request: DashboardRequest, experiment_id: str, run_id: str) -> HttpResponse:
    """Delete a saved view of the experiment, then show the run as it was.

    DynamoDB: the experiment (1 GetItem), the deletion and its audit event (1 transaction)."""
    back = {key: request.POST.get(key) for key in services.VIEW_PARAMS if request.POST.get(key)}
    try:
        name = services.delete_view(request.scope, experiment_id, request.POST.get("name"))
    except (ValidationFailed, Conflict) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Deleted the view “{name}”.")
    return redirect(_plain_url("run_logs", experiment_id, run_id, back))


@require_http_methods(["POST"])
@scoped(Can.TENANT_PAGES)
def set_log_columns(request: DashboardRequest, experiment_id: str, run_id: str) -> HttpResponse:
    """Choose the fields shown as columns for every run of the experiment.

    DynamoDB: the experiment (1 GetItem), the columns and their audit event (1 transaction)."""
    back = {key: request.POST.get(key) for key in services.VIEW_PARAMS if request.POST.get(key)}
    try:
        chosen = services.set_columns(request.scope, experiment_id, request.POST.get("columns", ""))
    except ValidationFailed as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Columns: {', '.join(chosen) or 'none'}.")
    return redirect(_plain_url("run_logs", experiment_id, run_id, back))


def _plain_url(name: str, experiment_id: str, run_id: str, params: dict) -> str:
    url = reverse(f"experiments:{name}", args=[experiment_id, run_id])
    return f"{url}?{urlencode(params)}" if params else url


@require_GET
@scoped(Can.TENANT_PAGES)
def compare_logs(request: DashboardRequest, experiment_id: str) -> HttpResponse:
    """Two runs' logs side by side, aligned by the time since each one's first line, and their patterns'
    counts diffed. Without two runs chosen: the form to choose them.

    DynamoDB: the experiment (1 GetItem), a page of runs (1 query) for the form; with two runs, 2 GetItems
    for the runs, 2 queries for a page of their lines and 2 GetItems for their pattern states. The
    page's link to later lines carries both runs' positions (`cursor`)."""
    scope = request.scope
    experiment = queries.get_experiment(scope, experiment_id)
    left, right = request.GET.get("a", ""), request.GET.get("b", "")
    context: dict = {
        "experiment": experiment,
        "runs": queries.list_runs(scope, experiment_id),
        "left": left,
        "right": right,
        "comparison": None,
    }
    if left and right:
        context["comparison"] = queries.compare_logs(
            scope, experiment_id, left, right, request.GET.get("cursor") or None
        )
    return render_page(request, "experiments/compare_logs.html", context)
