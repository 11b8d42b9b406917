"""JSON API of the analytics area: record and list an agent's runs, read the cost overview.

POST /api/agents/<agent_id>/runs   one run (object) or {"runs": [...]} (≤ 25); 201 when anything new
                                   was recorded, 200 when every run was already recorded.
GET  /api/agents/<agent_id>/runs   newest first; status (or any-failure), user, model, start, end (dates),
                                   environment, tag, session_id, cursor, limit.
GET  /api/analytics/execution      the overview's figures: period=7|30|90|month|last-month or start&end
                                   (`previous_period` says what the changes compare with).
GET  /api/analytics/sessions/<id>  one conversation: its runs oldest first (cursor), its totals, agents
                                   and failures.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from django.urls import path
from pydantic import BaseModel, Field

from dashboard.analytics import inputs, overview, pricing, queries, rollups, services
from dashboard.analytics.inputs import ANY_FAILURE, RunsIn
from dashboard.api.auth import Answer, api_view, created, read_json
from dashboard.api.operations import Operation, Query, Strict
from dashboard.core import clock, monitoring
from dashboard.core.errors import NotFound, ValidationFailed
from dashboard.core.scope import PRICES_KEY

MAX_LIMIT = 100
# A day in a query: the pattern is what the models check, the format what the filters then parse.
Day = Field(
    default=None,
    description="A date, YYYY-MM-DD.",
    pattern=r"^\d{4}-\d{2}-\d{2}$",
    json_schema_extra={"format": "date"},
)

if TYPE_CHECKING:
    from dashboard.analytics.models import Execution


class RunOutcome(BaseModel):
    execution_id: str
    result: Literal["recorded", "already_recorded"]
    cost_micro_usd: int
    started_at: str


class RunsRecorded(BaseModel):
    """What was recorded: each run's outcome, in the order sent."""

    recorded: int
    already_recorded: int
    runs: list[RunOutcome]

    @classmethod
    def of(cls, outcomes: list[services.Outcome]) -> RunsRecorded:
        recorded = sum(1 for outcome in outcomes if outcome.recorded)
        return cls(
            recorded=recorded,
            already_recorded=len(outcomes) - recorded,
            runs=[RunOutcome.model_validate(outcome.as_dict()) for outcome in outcomes],
        )


class ExecutionOut(BaseModel):
    execution_id: str
    agent_id: str
    user_id: str
    model: str
    status: str
    started_at: str
    finished_at: str | None
    duration_ms: int
    tokens_in: int
    tokens_out: int
    tokens_cache_read: int
    tokens_cache_write: int
    tokens_reasoning: int
    provider: str | None
    cost_micro_usd: int
    price_source: Literal[pricing.SOURCES]  # type: ignore[valid-type]
    input: str | None
    output: str | None
    truncated: bool | None
    error: str | None
    environment: str | None
    session_id: str | None
    tags: list[str]
    metadata: dict[str, str]
    flow_id: str | None

    @classmethod
    def of(cls, execution: Execution) -> ExecutionOut:
        return cls(
            execution_id=execution.execution_id,
            agent_id=execution.agent_id,
            user_id=execution.user_id,
            model=execution.model,
            status=execution.status,
            started_at=execution.started_at,
            finished_at=execution.finished_at,
            duration_ms=int(execution.duration_ms),
            tokens_in=int(execution.tokens_in),
            tokens_out=int(execution.tokens_out),
            tokens_cache_read=int(execution.tokens_cache_read or 0),
            tokens_cache_write=int(execution.tokens_cache_write or 0),
            tokens_reasoning=int(execution.tokens_reasoning or 0),
            provider=execution.provider,
            cost_micro_usd=int(execution.cost_micro_usd),
            price_source=execution.price_source or "catalogue",
            input=execution.input,
            output=execution.output,
            truncated=execution.truncated,
            error=execution.error,
            environment=execution.environment,
            session_id=execution.session_id,
            tags=list(execution.tags or []),
            metadata=execution.metadata.as_dict() if execution.metadata is not None else {},
            flow_id=execution.flow_id,
        )


class RunsPage(BaseModel):
    """One page of runs, newest first; pass `next_cursor` as `cursor` for the next (null: the last)."""

    runs: list[ExecutionOut]
    next_cursor: str | None


class RunsQuery(Query):
    status: Literal[(*inputs.EXECUTION_STATUSES, ANY_FAILURE)] | None = None  # type: ignore[valid-type]
    user: str | None = Field(default=None, max_length=128)
    model: str | None = Field(default=None, max_length=128)
    start: str | None = Day
    end: str | None = Day
    environment: str | None = Field(default=None, max_length=40, description="Runs of this environment.")
    tag: str | None = Field(default=None, max_length=40, description="Runs carrying this tag.")
    session_id: str | None = Field(default=None, max_length=128, description="Runs of this session.")
    cursor: str | None = Field(default=None, description="The `next_cursor` of the previous page.")
    limit: int | None = Field(default=None, ge=1, le=MAX_LIMIT)


class OverviewQuery(Query):
    period: Literal["7", "30", "90", "month", "last-month"] | None = Field(
        default=None,
        description="`month`: this month so far, compared with the same days of the previous month; "
        "`last-month`: the whole previous month, compared with the whole month before it.",
    )
    start: str | None = Day
    end: str | None = Day
    environment: str | None = Field(
        default=None,
        description="Only this environment's executions: every figure (its own rollups). Not with `tag`.",
        examples=["production"],
    )
    tag: str | None = Field(
        default=None,
        description="Only the executions carrying this tag: the totals, their change and the daily cost; "
        "the top lists, drivers and statuses are empty (not split by tag: see `not_split`).",
    )


class TotalsOut(BaseModel):
    """A period's (or one value's) figures; money in micro-USD, times in milliseconds."""

    cost_micro_usd: int
    executions: int
    failures: int
    success_rate: float | None = Field(description="Of the executions (null: none).")
    avg_ms: int | None
    p50_ms: int | None
    p95_ms: int | None
    tokens_in: int
    tokens_out: int

    @classmethod
    def fields_of(cls, t: rollups.Totals) -> dict[str, Any]:
        return {
            "cost_micro_usd": t.cost_micro_usd,
            "executions": t.count,
            "failures": t.failures,
            "success_rate": t.success_rate,
            "avg_ms": t.avg_ms,
            "p50_ms": t.p50_ms,
            "p95_ms": t.p95_ms,
            "tokens_in": t.tokens_in,
            "tokens_out": t.tokens_out,
        }

    @classmethod
    def of(cls, t: rollups.Totals) -> TotalsOut:
        return cls(**cls.fields_of(t))


class RankedOut(TotalsOut):
    """One agent, model, user, environment, tag, session, template or status of a top list, with the
    previous period's figures and the change when the value had any (absent otherwise)."""

    value: str
    name: str | None = Field(
        default=None,
        description="A dashboard user's name (user rows), a template's name (template rows, when the key's "
        "tenant may see the template).",
    )
    share: float | None = Field(description="Of the period's cost (status rows: of its executions).")
    previous: TotalsOut | None = None
    cost_change_micro_usd: int | None = None
    cost_change: float | None = Field(default=None, description="Relative: 0.25 is +25 %.")

    @classmethod
    def of_row(cls, r: overview.Ranked) -> RankedOut:
        extra: dict[str, Any] = {"name": r.label} if r.label else {}
        if r.previous is not None:
            extra |= {
                "previous": TotalsOut.of(r.previous),
                "cost_change_micro_usd": r.cost_change,
                "cost_change": r.cost_change_ratio,
            }
        return cls(value=r.value, share=r.share, **TotalsOut.fields_of(r.totals), **extra)


class PeriodOut(BaseModel):
    start: date
    end: date
    days: int


class PreviousPeriodOut(PeriodOut):
    label: str = Field(description="What the changes compare with, in words.")


class DailyOut(BaseModel):
    """One entry per day of the period; the cost stacked by model (a tenant) or by tenant (staff)."""

    days: list[date]
    executions: list[int]
    cost_micro_usd_by_model: dict[str, list[int]] | None = None
    cost_micro_usd_by_tenant: dict[str, list[int]] | None = None
    cost_micro_usd_by_tag: dict[str, list[int]] | None = Field(
        default=None, description="Under a `tag` filter: the tag's daily cost (not split by model)."
    )


class FilterOut(BaseModel):
    environment: str | None
    tag: str | None
    metadata: dict[str, str] = Field(description="`metadata.<key>=<value>`: the counted key and its value.")


class MetadataTopOut(BaseModel):
    """One counted metadata key's costliest values (Tenant.metadata_dimensions)."""

    key: str
    top_values: list[RankedOut]


class TenantShareOut(TotalsOut):
    tenant_id: str
    name: str
    share: float | None


class BudgetOut(BaseModel):
    budget_micro_usd: int | None
    month_to_date_micro_usd: int
    forecast_micro_usd: int
    daily_rate_micro_usd: int
    month: str = Field(examples=["November 2026"])
    state: Literal["none", "ok", "forecast_over", "over"]


class ContributionOut(BaseModel):
    value: str | None = Field(description="The agent (null: everyone else).")
    other: bool
    cost_change_micro_usd: int
    volume_effect_micro_usd: int | None
    unit_cost_effect_micro_usd: int | None
    executions: int
    previous_executions: int


class DriversOut(BaseModel):
    """Why the cost moved: each agent's part of the change, split into volume and unit cost."""

    dimension: Literal["agent"]
    cost_change_micro_usd: int
    contributions: list[ContributionOut]


class Overview(BaseModel):
    """The cost overview's figures for the period and the one before it."""

    tenant_id: str | None
    period: PeriodOut
    previous_period: PreviousPeriodOut
    current: TotalsOut
    previous: TotalsOut
    changes: dict[str, float | None] = Field(
        description="Each headline's change against the previous period."
    )
    daily: DailyOut
    top_agents: list[RankedOut]
    top_models: list[RankedOut]
    top_users: list[RankedOut]
    top_environments: list[RankedOut]
    top_tags: list[RankedOut]
    top_sessions: list[RankedOut] = Field(description="The costliest sessions (`session_id`) of the period.")
    top_templates: list[RankedOut] = Field(
        description="The costliest marketplace templates the period's runs came from (by `template_id`)."
    )
    statuses: list[RankedOut]
    tenants: list[TenantShareOut] = Field(
        description="Staff: each tenant's share (empty for a tenant's key)."
    )
    budget: BudgetOut | None
    drivers: DriversOut
    filter: FilterOut
    metadata_keys: list[str] = Field(description="The metadata keys the tenant counts as dimensions.")
    top_metadata: list[MetadataTopOut]
    not_split: list[str] = Field(
        description="Under a filter: the parts not split by it, left empty rather than unfiltered."
    )

    @classmethod
    def of(cls, figures: overview.Overview) -> Overview:
        period, previous = figures.period, figures.period.previous

        def ranked(rows: list[overview.Ranked]) -> list[RankedOut]:
            return [RankedOut.of_row(r) for r in rows]

        return cls(
            tenant_id=figures.tenant_id,
            period=PeriodOut(start=period.start, end=period.end, days=period.days),
            previous_period=PreviousPeriodOut(
                start=previous.start, end=previous.end, days=previous.days, label=period.compared_with
            ),
            current=TotalsOut.of(figures.current),
            previous=TotalsOut.of(figures.previous),
            changes={h.key: h.change for h in figures.headlines},
            daily=DailyOut(
                days=figures.days,
                executions=figures.daily_count,
                **{f"cost_micro_usd_by_{figures.series_by}": figures.daily_cost},
            ),
            top_agents=ranked(figures.top_agents),
            top_models=ranked(figures.top_models),
            top_users=ranked(figures.top_users),
            top_environments=ranked(figures.top_environments),
            top_tags=ranked(figures.top_tags),
            top_sessions=ranked(figures.top_sessions),
            top_templates=ranked(figures.top_templates),
            statuses=ranked(figures.statuses),
            tenants=[
                TenantShareOut(
                    tenant_id=row.tenant_id,
                    name=row.name,
                    share=row.share,
                    **TotalsOut.fields_of(row.current),
                )
                for row in figures.tenants
            ],
            budget=BudgetOut(**figures.budget.as_dict()) if figures.budget else None,
            drivers=DriversOut(
                dimension="agent",
                cost_change_micro_usd=figures.cost_change,
                contributions=[
                    ContributionOut(
                        value=None if d.other else d.value,
                        other=d.other,
                        cost_change_micro_usd=d.change,
                        volume_effect_micro_usd=d.volume_effect,
                        unit_cost_effect_micro_usd=d.unit_cost_effect,
                        executions=d.current.count,
                        previous_executions=d.previous.count,
                    )
                    for d in figures.drivers
                ],
            ),
            filter=FilterOut(
                environment=figures.filter.environment,
                tag=figures.filter.tag,
                metadata={figures.filter.metadata_key: figures.filter.metadata_value or ""}
                if figures.filter.metadata_key
                else {},
            ),
            metadata_keys=figures.metadata_keys,
            top_metadata=[
                MetadataTopOut(key=key, top_values=ranked(rows)) for key, rows in figures.top_metadata
            ],
            not_split=figures.not_split,
        )


RUN_EXAMPLE = {
    "execution_id": "exe-2026-11-30-0001",
    "user_id": "user-42",
    "model": "gpt-4o-mini",
    "status": "succeeded",
    "started_at": "2026-11-30T12:00:00Z",
    "duration_ms": 1800,
    "tokens_in": 2000,
    "tokens_out": 1000,
}
RUNS = {
    "GET": Operation(
        "List an agent's runs",
        {200: RunsPage},
        query=RunsQuery,
        tags=["analytics"],
    ),
    "POST": Operation(
        "Record runs of an agent",
        {201: RunsRecorded, 200: RunsRecorded},
        description="Idempotent by `execution_id`: a retried batch counts each run once "
        "(200 when nothing new was recorded).",
        body=RunsIn,
        body_example=RUN_EXAMPLE,
        tags=["analytics"],
    ),
}


@api_view(RUNS, ingests="executions")
def runs(request: HttpRequest, agent_id: str):
    if request.method == "POST":
        body = RunsRecorded.of(services.record_runs(request.scope, agent_id, request.api_body))
        monitoring.INGESTED.labels("executions").inc(body.recorded)
        monitoring.INGEST_DUPLICATES.labels("executions").inc(body.already_recorded)
        return Answer(body, 201 if body.recorded else 200)
    asked = request.api_query
    errors: dict[str, str] = {}
    start, end = inputs.parse_day(asked.start, "start", errors), inputs.parse_day(asked.end, "end", errors)
    filters = inputs.execution_filters(
        agent_id,
        asked.status,
        asked.user,
        asked.model,
        start,
        end,
        errors,
        environment=asked.environment,
        tag=asked.tag,
        session_id=asked.session_id,
    )
    page = queries.list_executions(
        request.scope,
        filters,
        cursor=request.GET.get("cursor"),
        limit=request.api_query.limit or queries.PAGE_SIZE,
    )
    return RunsPage(runs=[ExecutionOut.of(execution) for execution in page], next_cursor=page.next_cursor)


class SessionQuery(Query):
    cursor: str | None = Field(default=None, description="The `next_cursor` of the previous page.")


class SessionTotalsOut(BaseModel):
    executions: int
    failures: int
    cost_micro_usd: int
    tokens_in: int
    tokens_out: int


class SessionAgentOut(BaseModel):
    agent_id: str
    executions: int
    cost_micro_usd: int


class SessionFailureOut(BaseModel):
    execution_id: str
    agent_id: str
    status: str
    started_at: str


class SessionOut(BaseModel):
    """One conversation (`session_id`) of the key's tenant: its figures, and its runs in the order they
    started, a page at a time; pass `next_cursor` as `cursor` for the next page (null: the last)."""

    session_id: str
    totals: SessionTotalsOut
    complete: bool = Field(
        description="False when the session has more runs than one read counts (thousands): "
        "the totals are those of the runs counted."
    )
    first_started_at: str
    last_started_at: str
    agents: list[SessionAgentOut]
    failures: list[SessionFailureOut] = Field(description="The first 20 failed runs, in order.")
    runs: list[ExecutionOut]
    next_cursor: str | None

    @classmethod
    def of(cls, view: queries.SessionView) -> SessionOut:
        summary = view.summary
        t = summary.totals
        return cls(
            session_id=view.session_id,
            totals=SessionTotalsOut(
                executions=t.count,
                failures=t.failures,
                cost_micro_usd=t.cost_micro_usd,
                tokens_in=t.tokens_in,
                tokens_out=t.tokens_out,
            ),
            complete=summary.complete,
            first_started_at=summary.first,
            last_started_at=summary.last,
            agents=[
                SessionAgentOut(agent_id=agent, executions=a.count, cost_micro_usd=a.cost_micro_usd)
                for agent, a in summary.agents.items()
            ],
            failures=[SessionFailureOut(**vars(failure)) for failure in summary.failed],
            runs=[ExecutionOut.of(execution) for execution in view.page],
            next_cursor=view.page.next_cursor,
        )


@api_view(
    {
        "GET": Operation(
            "One session's runs and cost",
            {200: SessionOut, 404: "No run of this session is kept for the key's tenant."},
            description="Runs recorded with this `session_id`, oldest first, with the whole session's "
            "totals. Runs recorded before sessions were indexed (December 2026) are not included.",
            query=SessionQuery,
            tags=["analytics"],
        )
    }
)
def session(request: HttpRequest, session_id: str):
    view = queries.session_page(request.scope, session_id, cursor=request.api_query.cursor)
    return SessionOut.of(view)


@api_view(
    {
        "GET": Operation(
            "The cost overview",
            {200: Overview},
            description="Filters: `environment` (every figure) or `tag` (totals, change, daily cost). "
            "`metadata.<key>=<value>`: one value of a metadata key the tenant counts as a dimension "
            "(`metadata_keys`; like a tag: totals, change, daily cost); another key is answered 422 "
            "naming the parameter. One filter at a time.",
            query=OverviewQuery,
            tags=["analytics"],
        )
    }
)
def execution_overview(request: HttpRequest):
    asked, errors = request.api_query, {}
    start, end = inputs.parse_day(asked.start, "start", errors), inputs.parse_day(asked.end, "end", errors)
    if errors:
        raise ValidationFailed("That period is not valid.", errors)
    period = inputs.chosen_period(asked.period, start, end, clock.now().date())
    chosen = inputs.overview_filter(asked.environment, asked.tag, request.GET)
    return Overview.of(overview.build(request.scope, period, filter=chosen))


class PricesQuery(Query):
    model: str = Field(
        min_length=1,
        max_length=128,
        description="The model name as sent (`gpt-4o-mini-2024-07-18`, `openai/gpt-4o`, a Bedrock id…).",
    )
    provider: str | None = Field(
        default=None, max_length=64, description="`gen_ai.provider.name` / `llm.provider`, when known."
    )
    at: date | None = Field(default=None, description="The day of the call (UTC); today when absent.")
    tenant: str | None = Field(default=None, max_length=40, description="Prices key only: whose price.")


class RatesOut(BaseModel):
    """US micro-dollars per 1,000,000 tokens; null: charged at the input (cache) or output (reasoning) rate."""

    input: int
    cache_read: int | None
    cache_write: int | None
    output: int
    reasoning: int | None


class PriceOut(BaseModel):
    """The price that applies to this key's tenant for a model at a moment, and where it comes from."""

    model: str
    provider: str | None
    source: Literal["contract", "override", "catalogue"]
    matched: str
    price: str = Field(
        description="The catalogue entry (`provider/model`) or the staff price (`<model> from <day>, v<n>`)."
    )
    price_id: str | None = Field(description="The staff price's id (null: the catalogue's).")
    effective_from: str | None
    rates: RatesOut
    why: str


Rate = Annotated[float, Field(ge=0, le=1_000_000, description="US dollars per 1,000,000 tokens.")]


class PriceBody(Strict):
    """A staff price over the catalogue: for every tenant, or one tenant's contract (`tenant_id`)."""

    model: str = Field(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9*][A-Za-z0-9._:@/*-]{0,127}$",
        description="An exact name as sent, a catalogue name, or a pattern with `*` (`gpt-4o*`).",
    )
    provider: str | None = Field(default=None, pattern=r"^[a-z0-9._-]{1,64}$")
    tenant_id: str | None = Field(default=None, max_length=40, description="Omit for every tenant.")
    effective_from: str = Field(
        pattern=r"^\d{4}-\d{2}-\d{2}$",
        json_schema_extra={"format": "date"},
        description="The first day (UTC) the price applies, YYYY-MM-DD.",
    )
    input: Rate
    output: Rate
    cache_read: Rate | None = Field(default=None, description="Omit: charged as input.")
    cache_write: Rate | None = Field(default=None, description="Omit: charged as input.")
    reasoning: Rate | None = Field(default=None, description="Omit: charged as output.")
    note: str = Field(default="", max_length=500)


class PriceChangeBody(PriceBody):
    version: int = Field(ge=1, description="The version you read: a newer one answers 409.")


class StaffPriceOut(BaseModel):
    """A staff price; rates in US micro-dollars per 1,000,000 tokens."""

    price_id: str
    model: str
    provider: str | None
    tenant_id: str | None
    effective_from: str
    rates: RatesOut
    note: str
    retired: bool
    version: int

    @classmethod
    def of(cls, price) -> StaffPriceOut:
        return cls(
            price_id=price.price_id,
            model=price.model,
            provider=price.provider,
            tenant_id=None if price.scope == pricing.EVERY_TENANT else price.scope,
            effective_from=price.effective_from[:10],
            rates=RatesOut.model_validate(pricing.rates_of(price).as_dict()),
            note=price.note,
            retired=price.retired,
            version=int(price.version),
        )


class VersionQuery(Query):
    version: int = Field(ge=1, description="The version you read: a newer one answers 409.")


def _price_value(body: dict) -> inputs.PriceIn:
    rates = {name: None if body.get(name) is None else str(body[name]) for name in inputs.RATE_NAMES}
    return inputs.PriceIn.clean(
        model=body["model"],
        provider=body.get("provider"),
        tenant_id=body.get("tenant_id"),
        effective_from=body["effective_from"],
        note=body.get("note", ""),
        **rates,
    )


PRICE_KEYS = ("api", "prices_key")


@api_view(
    {
        "GET": Operation(
            "The price of a model",
            {200: PriceOut, 404: "No price is known for that model (`no price`)."},
            description="The rates that apply to this key's tenant: its contract price, else a staff "
            "override, else the catalogue's, for the model name as the provider sent it. A prices key "
            "names the tenant with `tenant` (none: the price for every tenant).",
            query=PricesQuery,
            tags=["prices"],
            keys=PRICE_KEYS,
        ),
        "POST": Operation(
            "Add a staff price (prices key)",
            {201: StaffPriceOut, 403: "Only the platform's prices key sets prices."},
            description="Audited. A price whose first day is past marks those days' figures as made with "
            "older prices until they are re-priced (`manage.py reprice`, or the prices page).",
            body=PriceBody,
            body_example={
                "model": "gpt-4o-mini",
                "effective_from": "2026-12-01",
                "input": 0.12,
                "output": 0.5,
            },
            tags=["prices"],
            keys=("prices_key",),
        ),
    }
)
def prices(request: HttpRequest):
    if request.method == "POST":
        price = services.save_price(request.scope, _price_value(read_json(request)))
        return created(StaffPriceOut.of(price))
    asked = request.api_query
    tenant_id = (
        asked.tenant if request.scope.role == PRICES_KEY else request.scope.reading_tenant(asked.tenant)
    )
    at = datetime(asked.at.year, asked.at.month, asked.at.day, 12, tzinfo=UTC) if asked.at else clock.now()
    quote = pricing.quote(tenant_id, asked.model, pricing.Usage(), at, asked.provider)
    if not quote.priced:
        raise NotFound("no price", {"model": f"No price is known for {asked.model}: staff can add one."})
    return PriceOut(
        model=asked.model,
        provider=quote.provider,
        source=quote.source,
        matched=quote.matched,
        price=quote.ref,
        price_id=quote.price_id,
        effective_from=quote.effective_from,
        rates=RatesOut.model_validate(quote.rates.as_dict()),
        why=quote.why,
    )


@api_view(
    {
        "PUT": Operation(
            "Change a staff price (prices key)",
            {
                200: StaffPriceOut,
                403: "Only the platform's prices key sets prices.",
                409: "Changed meanwhile.",
            },
            body=PriceChangeBody,
            body_example={
                "model": "gpt-4o-mini",
                "effective_from": "2026-12-01",
                "input": 0.12,
                "output": 0.5,
                "version": 1,
            },
            tags=["prices"],
            keys=("prices_key",),
        ),
        "DELETE": Operation(
            "Retire a staff price (prices key)",
            {204: None, 403: "Only the platform's prices key sets prices.", 409: "Changed meanwhile."},
            query=VersionQuery,
            tags=["prices"],
            keys=("prices_key",),
        ),
    }
)
def price(request: HttpRequest, price_id: str):
    found = services.find_price(request.scope, price_id)
    if request.method == "DELETE":
        services.retire_price(request.scope, found.scope, found.price_id, request.api_query.version)
        return HttpResponse(status=204)
    body = read_json(request)
    value = _price_value(body)
    if (value.tenant_id or pricing.EVERY_TENANT) != found.scope:
        raise ValidationFailed(
            "A price keeps whom it applies to.", {"tenant_id": "Retire this price and add a new one instead."}
        )
    changed = services.save_price(request.scope, value, found.price_id, body["version"])
    return StaffPriceOut.of(changed)


urlpatterns = [
    path("prices", prices, name="prices"),
    path("prices/<str:price_id>", price, name="price"),
    path("agents/<str:agent_id>/runs", runs, name="agent_runs"),
    path("analytics/execution", execution_overview, name="analytics_execution"),
    path("analytics/sessions/<str:session_id>", session, name="analytics_session"),
]
