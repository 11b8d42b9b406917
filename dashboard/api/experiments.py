"""JSON API endpoints of the logs area (thin: they call dashboard.experiments services).

GET  /api/experiments                           the tenant's experiments, newest first (cursor)
POST /api/experiments                           create one: {"project_id", "name", "description"?, "experiment_id"?}
POST /api/experiments/{id}/logs                 one line or a batch of up to 500 (idempotent)
GET  /api/experiments/{id}/logs                 the experiment's lines (filters, signed cursor)
GET  /api/experiments/{id}/runs/{run_id}/logs   one run's lines after a position (filters; `regex=true`: RE2)
GET  /api/experiments/{id}/runs/{run_id}/logs/volume    lines per time bucket and severity (counters)
GET  /api/experiments/{id}/runs/{run_id}/logs/patterns  the run's log templates with counts, first/last time
POST /api/experiments/{id}/runs                 start a run (a client-chosen run_id makes it retry-safe)
POST /api/experiments/{id}/runs/{run_id}        finish a run: {"status": "succeeded" | "failed" | "cancelled"}
POST /api/experiments/{id}/runs/{run_id}/metrics  metric points {"points": [{"step", "name", "value"}]}
GET  /api/experiments/{id}/runs/{run_id}/metrics  the run's final metrics, or with ?metric= one curve
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.urls import path
from pydantic import BaseModel, ConfigDict, Discriminator, Field, RootModel, Tag

from dashboard.api.auth import Answer, api_view, created, read_json
from dashboard.api.operations import Operation, Query, Strict
from dashboard.core import monitoring
from dashboard.experiments import inputs, lines, queries, services
from dashboard.experiments.inputs import LogFilters

EXPERIMENTS_PAGE_MAX = 50  # each experiment brings a query for its recent runs
Severity = Literal[lines.SEVERITIES]  # type: ignore[valid-type]
# A client-chosen experiment or run id: exactly what the experiments' services take.
ClientId = Annotated[str, Field(min_length=1, max_length=80, pattern=services.RUN_ID_PATTERN.pattern)]


def _number_or_text(value: Any) -> str:
    return "~one" if isinstance(value, int) else "~batch"  # tags that add nothing to error paths


Moment = Annotated[
    Annotated[Annotated[int, Field(ge=0)], Tag("~one")]
    | Annotated[
        Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", max_length=40)], Tag("~batch")
    ],
    Discriminator(_number_or_text),
]


class ExperimentIn(Strict):
    model_config = ConfigDict(strict=True, extra="allow")
    project_id: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=2000)
    experiment_id: ClientId | None = Field(
        default=None,
        description="Client-chosen and idempotent: creating it again answers the same experiment.",
    )


class RunStart(Strict):
    model_config = ConfigDict(strict=True, extra="allow")
    name: str = Field(default="", max_length=120)
    parameters: dict[str, Any] | None = None
    run_id: ClientId | None = Field(
        default=None, description="Client-chosen and idempotent: starting it again answers the same run."
    )


class FinishIn(Strict):
    model_config = ConfigDict(strict=True, extra="allow")
    status: Literal[queries.FINISHED]  # type: ignore[valid-type]


class LineIn(Strict):
    """One log line. With `seq` (the client's counter) a retried line is stored once."""

    model_config = ConfigDict(strict=True, extra="forbid")
    run_id: ClientId
    ts: Moment = Field(
        description="ISO-8601 with a zone, or epoch milliseconds.", examples=["2026-11-30T12:00:00Z"]
    )
    severity: Severity
    component: str = Field(
        default="main", min_length=1, max_length=inputs.MAX_COMPONENT, pattern=r"^[^#]*\S[^#]*$"
    )
    message: str = Field(min_length=1, max_length=inputs.MAX_MESSAGE, pattern=r"\S")
    fields: dict[str, Any] | None = None
    seq: int | None = Field(
        default=None,
        ge=0,
        lt=lines.SEQ_LIMIT,
        description="Client-chosen: the same line and seq twice is stored once.",
    )


class LineBatch(Strict):
    model_config = ConfigDict(strict=True, extra="forbid")
    lines: list[LineIn] = Field(min_length=1, max_length=inputs.MAX_BATCH)


def _shape(value: Any) -> str:
    if isinstance(value, list):
        return "~lines"
    return "~batch" if isinstance(value, dict) and "lines" in value else "~one"


class LinesIn(RootModel):
    """One line, a list of up to 500, or `{"lines": [...]}`; nothing is written when any is invalid."""

    root: Annotated[
        Annotated[LineIn, Tag("~one")]
        | Annotated[Annotated[list[LineIn], Field(min_length=1, max_length=inputs.MAX_BATCH)], Tag("~lines")]
        | Annotated[LineBatch, Tag("~batch")],
        Discriminator(_shape),
    ]


class RunOut(BaseModel):
    """A run and its line counts."""

    experiment_id: str
    run_id: str
    name: str | None
    status: str
    started_at: str
    finished_at: str | None
    line_count: int
    error_count: int
    warning_count: int

    @classmethod
    def of(cls, run) -> RunOut:
        return cls(
            experiment_id=run.experiment_id,
            run_id=run.run_id,
            name=run.name,
            status=run.status,
            started_at=run.started_at.isoformat(),
            finished_at=run.finished_at.isoformat() if run.finished_at else None,
            line_count=int(run.line_count or 0),
            error_count=int(run.error_count or 0),
            warning_count=int(run.warning_count or 0),
        )


class ExperimentOut(BaseModel):
    """An experiment."""

    experiment_id: str
    project_id: str
    name: str
    description: str
    created_at: str

    @classmethod
    def of(cls, experiment) -> ExperimentOut:
        return cls(
            experiment_id=experiment.experiment_id,
            project_id=experiment.project_id,
            name=experiment.name,
            description=experiment.description or "",
            created_at=experiment.created_at.isoformat(),
        )


class ExperimentSummary(ExperimentOut):
    recent_runs: list[RunOut]


class ExperimentPage(BaseModel):
    """One page of experiments, newest first; pass `next_cursor` as `cursor` for the next (null: the last)."""

    experiments: list[ExperimentSummary]
    next_cursor: str | None


class LineOut(BaseModel):
    run_id: str
    experiment_id: str
    cursor: str
    ts: str
    ts_ms: int
    severity: str
    component: str
    message: str
    fields: dict[str, Any]

    @classmethod
    def of(cls, line) -> LineOut:
        return cls(**lines.as_dict(line))


class LinePage(BaseModel):
    """One page of lines; pass `next_cursor` as `cursor` for the next (null: the last)."""

    lines: list[LineOut]
    next_cursor: str | None


class LineWindow(BaseModel):
    """The run and its lines after `after`; `more` says whether others matched beyond them."""

    run: RunOut
    lines: list[LineOut]
    after: str | None
    more: bool


class Ingested(BaseModel):
    """How many lines were accepted, written, and already stored (retries)."""

    accepted: int
    written: int
    duplicates: int


class SeverityCounts(BaseModel):
    debug: int = 0
    info: int = 0
    warning: int = 0
    error: int = 0
    critical: int = 0


class VolumeBar(BaseModel):
    start: str = Field(description="The bucket's start, ISO-8601 UTC.")
    start_ms: int
    total: int
    counts: SeverityCounts


class VolumeOut(BaseModel):
    """Lines per time bucket and severity in the window, from counters kept at ingestion (never the lines).

    Without `from`/`to` the window spans the run's lines; the bucket is a minute for windows up to 6 h,
    an hour up to 10 days, else a day."""

    experiment_id: str
    run_id: str
    start_ms: int
    end_ms: int
    bucket_ms: int
    resolution: Literal["minute", "hour", "day"]
    total: int
    bars: list[VolumeBar]


class PatternOut(BaseModel):
    pattern_id: int
    template: str = Field(
        description="Drain's template: `<NUM>`, `<HEX>`, `<ID>` masked values, `<*>` any token."
    )
    shown: str = Field(description="The template with every variable part as `*`.")
    regex: str = Field(description="An RE2 expression matching its lines: pass as `q` with `regex=true`.")
    count: int
    first: str
    last: str
    first_ms: int
    last_ms: int


class PatternsOut(BaseModel):
    """The run's log templates (mined at ingestion), most frequent first; `mined`: lines mined so far."""

    experiment_id: str
    run_id: str
    mined: int
    patterns: list[PatternOut]


class PointIn(Strict):
    model_config = ConfigDict(strict=True, extra="forbid")
    step: int = Field(ge=0, le=inputs.MAX_STEP)
    name: str = Field(pattern=inputs.METRIC_NAME.pattern, max_length=64, examples=["loss"])
    value: float = Field(allow_inf_nan=False)


class PointsIn(Strict):
    """Up to 1,000 points; a (name, step) sent again overwrites the point (retries are harmless)."""

    model_config = ConfigDict(strict=True, extra="forbid")
    points: list[PointIn] = Field(min_length=1, max_length=inputs.MAX_POINTS_PER_BATCH)


class MetricsOut(BaseModel):
    """The run's final metrics (the value at each metric's highest step); with `metric`, its curve."""

    experiment_id: str
    run_id: str
    recorded: int | None = None
    point_count: int
    final_metrics: dict[str, float]
    metric: str | None = None
    points: list[list[float]] | None = None

    @classmethod
    def of(cls, run, **extra) -> MetricsOut:
        return cls(
            experiment_id=run.experiment_id,
            run_id=run.run_id,
            point_count=int(run.metric_point_count or 0),
            final_metrics=queries.final_metrics(run),
            **extra,
        )


class MetricQuery(Query):
    metric: str | None = Field(default=None, max_length=64, pattern=inputs.METRIC_NAME.pattern)


class PageQuery(Query):
    cursor: str | None = Field(default=None, description="The `next_cursor` of the previous page.")
    limit: int | None = Field(default=None, ge=1, le=EXPERIMENTS_PAGE_MAX)


class FilterQuery(Query):
    severity: Severity | None = Field(default=None, description="This severity and above.")
    component: str | None = Field(default=None, max_length=64, pattern=r"^[^#\x00-\x08\x0b\x0c\x0e-\x1f]*$")
    q: str | None = Field(default=None, max_length=inputs.MAX_QUERY, description="Text the message contains.")


class LinesQuery(FilterQuery):
    run_id: str | None = Field(default=None, max_length=80)
    cursor: str | None = Field(default=None, description="The `next_cursor` of the previous page.")
    limit: int | None = Field(default=None, ge=1, le=queries.MAX_WINDOW)


TimeBound = Annotated[
    str,
    Field(
        max_length=40,
        pattern=r"^(\d{1,13}|\d{4}-\d{2}-\d{2}T[0-9:.+\-Z]{2,29})$",
        description="Epoch milliseconds or an ISO-8601 time (UTC without a zone).",
    ),
]


class WindowQuery(FilterQuery):
    after: str | None = Field(default=None, description="The `after` of the previous answer.")
    limit: int | None = Field(default=None, ge=1, le=queries.MAX_WINDOW)


class RunLinesQuery(WindowQuery):
    q: str | None = Field(
        default=None,
        max_length=inputs.MAX_QUERY,
        description="Text the message contains (any case), or with `regex=true` an RE2 regular expression.",
    )
    regex: bool | None = Field(
        default=None, description="`q` is an RE2 regular expression (400 when RE2 refuses it)."
    )
    where: str | None = Field(default=None, max_length=inputs.MAX_WHERE, description=inputs.FIELD_FILTER_HELP)
    from_: TimeBound | None = Field(default=None, alias="from", description="The window's start.")
    to: TimeBound | None = Field(default=None, description="The window's end (inclusive).")


class VolumeQuery(Query):
    from_: TimeBound | None = Field(default=None, alias="from", description="The window's start.")
    to: TimeBound | None = Field(default=None, description="The window's end (inclusive).")


EXPERIMENTS = {
    "GET": Operation("List experiments", {200: ExperimentPage}, query=PageQuery, tags=["experiments"]),
    "POST": Operation(
        "Create an experiment",
        {201: ExperimentOut, 409: "The `experiment_id` is taken by another experiment."},
        body=ExperimentIn,
        body_example={"project_id": "prj-1", "name": "lr sweep", "experiment_id": "exp-lr-sweep"},
        tags=["experiments"],
    ),
}
EXPERIMENT_LOGS = {
    "GET": Operation(
        "Read an experiment's log lines", {200: LinePage}, query=LinesQuery, tags=["experiments"]
    ),
    "POST": Operation(
        "Send log lines",
        {201: Ingested, 200: Ingested},
        description="Idempotent: a line is keyed by its run, time and `seq`, so a retried batch is stored once "
        "(200 when every line was already stored: nothing written).",
        body=LinesIn,
        body_example={
            "lines": [
                {
                    "run_id": "run-1",
                    "ts": "2026-11-30T12:00:00Z",
                    "severity": "info",
                    "message": "epoch 1",
                    "seq": 1,
                }
            ]
        },
        tags=["experiments"],
    ),
}
RUN_LOGS = {
    "GET": Operation(
        "Read a run's lines after a position",
        {
            200: LineWindow,
            400: "`q` with `regex=true` is not a regular expression RE2 accepts (look-around and "
            "back-references are refused; no pattern can make the search slow).",
        },
        description="Filters: minimum `severity`, `component`, `q` (text, or an RE2 pattern with `regex=true`), "
        "`where` (a field filter, e.g. `fields.epoch >= 10`), and a time window `from`/`to`. A regular "
        "expression or field filter reads at most 3 pages of 1,000 lines a call: `more` with fewer lines "
        "than `limit` means continue from `after`.",
        query=RunLinesQuery,
        tags=["experiments"],
    )
}
RUN_LOG_VOLUME = {
    "GET": Operation(
        "Count a run's lines per time bucket and severity",
        {200: VolumeOut},
        description="From counters kept at ingestion: one or two reads of at most 31 small items, "
        "whatever the number of lines.",
        query=VolumeQuery,
        tags=["experiments"],
    )
}
RUN_LOG_PATTERNS = {
    "GET": Operation(
        "List a run's log patterns",
        {200: PatternsOut},
        description="Templates mined from the lines as they arrived (drain3), with their counts and "
        "first and last time; at most 200 per run (the least recently seen make room).",
        tags=["experiments"],
    )
}
RUNS = {
    "POST": Operation(
        "Start a run",
        {201: RunOut, 409: "The `run_id` is taken by another run."},
        body=RunStart,
        body_example={"name": "trial 1", "run_id": "run-1", "parameters": {"lr": 0.001}},
        tags=["experiments"],
    )
}
RUN = {
    "POST": Operation(
        "Finish a run",
        {200: RunOut, 409: "The run is already finished."},
        body=FinishIn,
        body_example={"status": "succeeded"},
        tags=["experiments"],
    )
}

RUN_METRICS = {
    "GET": Operation("Read a run's metrics", {200: MetricsOut}, query=MetricQuery, tags=["experiments"]),
    "POST": Operation(
        "Send metric points of a run",
        {
            201: MetricsOut,
            409: "The run is finished: points are recorded while it runs.",
            422: "A point is not valid, or the run would pass its limits (50 metrics, 20,000 points).",
        },
        body=PointsIn,
        body_example={"points": [{"step": 1, "name": "loss", "value": 0.52}]},
        tags=["experiments"],
    ),
}


def _limit(request: HttpRequest, default: int = 200) -> int:
    """`?limit=`, or `default`; its bounds are the query model's (`le=`), checked before the view."""
    return request.api_query.limit or default


@api_view(EXPERIMENTS)
def experiments(request: HttpRequest):
    if request.method == "POST":
        body: ExperimentIn = request.api_body
        experiment = services.create_experiment(
            request.scope, body.project_id, body.name, body.description, experiment_id=body.experiment_id
        )
        return created(ExperimentOut.of(experiment))
    page = queries.list_experiments(
        request.scope, cursor=request.GET.get("cursor"), limit=_limit(request, 20)
    )
    return ExperimentPage(
        experiments=[
            ExperimentSummary(
                **ExperimentOut.of(s.experiment).model_dump(), recent_runs=[RunOut.of(run) for run in s.runs]
            )
            for s in page.items
        ],
        next_cursor=page.next_cursor,
    )


@api_view(EXPERIMENT_LOGS, ingests="log_lines")
def experiment_logs(request: HttpRequest, experiment_id: str):
    if request.method == "POST":
        result = services.ingest(request.scope, experiment_id, read_json(request))
        monitoring.INGESTED.labels("log_lines").inc(result.written)
        monitoring.INGEST_DUPLICATES.labels("log_lines").inc(result.duplicates)
        body = Ingested(accepted=result.accepted, written=result.written, duplicates=result.duplicates)
        return Answer(body, 201 if result.written else 200)
    filters = LogFilters.from_params(request.GET)
    page = queries.list_lines(
        request.scope,
        experiment_id,
        filters,
        run_id=request.GET.get("run_id") or None,
        cursor=request.GET.get("cursor"),
        limit=_limit(request, 100),
    )
    return LinePage(lines=[LineOut.of(line) for line in page.items], next_cursor=page.next_cursor)


@api_view(RUN_LOGS)
def run_logs(request: HttpRequest, experiment_id: str, run_id: str):
    filters = LogFilters.from_params(request.GET)
    run, window = queries.lines_from(
        request.scope, experiment_id, run_id, filters, after=request.GET.get("after"), limit=_limit(request)
    )
    return LineWindow(
        run=RunOut.of(run),
        lines=[LineOut.of(line) for line in window.lines],
        after=window.position,
        more=not window.complete,
    )


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@api_view(RUN_LOG_VOLUME)
def run_log_volume(request: HttpRequest, experiment_id: str, run_id: str):
    window = LogFilters.from_params({"from": request.GET.get("from"), "to": request.GET.get("to")})
    view = queries.run_volume(request.scope, experiment_id, run_id, window)
    histogram = view.histogram
    return VolumeOut(
        experiment_id=experiment_id,
        run_id=run_id,
        start_ms=histogram.start_ms,
        end_ms=histogram.end_ms,
        bucket_ms=histogram.bucket_ms,
        resolution=histogram.resolution,
        total=histogram.total,
        bars=[
            VolumeBar(
                start=_iso(bar["start"]),
                start_ms=bar["start"],
                total=sum(bar["counts"].values()),
                counts=SeverityCounts(**bar["counts"]),
            )
            for bar in histogram.bars
        ],
    )


@api_view(RUN_LOG_PATTERNS)
def run_log_patterns(request: HttpRequest, experiment_id: str, run_id: str):
    view = queries.run_patterns(request.scope, experiment_id, run_id)
    return PatternsOut(
        experiment_id=experiment_id,
        run_id=run_id,
        mined=view.mined,
        patterns=[
            PatternOut(
                pattern_id=p.pattern_id,
                template=p.template,
                shown=p.shown,
                regex=p.regex,
                count=p.count,
                first=_iso(p.first_ms),
                last=_iso(p.last_ms),
                first_ms=p.first_ms,
                last_ms=p.last_ms,
            )
            for p in view.patterns
        ],
    )


@api_view(RUNS)
def experiment_runs(request: HttpRequest, experiment_id: str):
    body: RunStart = request.api_body
    run = services.start_run(
        request.scope, experiment_id, name=body.name, parameters=body.parameters, run_id=body.run_id
    )
    return created(RunOut.of(run))


@api_view(RUN)
def experiment_run(request: HttpRequest, experiment_id: str, run_id: str):
    body: FinishIn = request.api_body
    return RunOut.of(services.finish_run(request.scope, experiment_id, run_id, body.status))


@api_view(RUN_METRICS)
def run_metrics(request: HttpRequest, experiment_id: str, run_id: str):
    if request.method == "POST":
        result = services.record_metrics(request.scope, experiment_id, run_id, read_json(request))
        return created(MetricsOut.of(result.run, recorded=result.recorded))
    run = queries.get_run(request.scope, experiment_id, run_id)
    metric = request.GET.get("metric")
    if metric:
        points = [list(point) for point in queries.curve(run, metric)]
        return MetricsOut.of(run, metric=metric, points=points)
    return MetricsOut.of(run)


urlpatterns = [
    path("experiments", experiments, name="experiments"),
    path("experiments/<str:experiment_id>/logs", experiment_logs, name="experiment_logs"),
    path("experiments/<str:experiment_id>/runs", experiment_runs, name="experiment_runs"),
    path("experiments/<str:experiment_id>/runs/<str:run_id>", experiment_run, name="experiment_run"),
    path("experiments/<str:experiment_id>/runs/<str:run_id>/logs", run_logs, name="run_logs"),
    path(
        "experiments/<str:experiment_id>/runs/<str:run_id>/logs/volume", run_log_volume, name="run_log_volume"
    ),
    path(
        "experiments/<str:experiment_id>/runs/<str:run_id>/logs/patterns",
        run_log_patterns,
        name="run_log_patterns",
    ),
    path("experiments/<str:experiment_id>/runs/<str:run_id>/metrics", run_metrics, name="run_metrics"),
]
