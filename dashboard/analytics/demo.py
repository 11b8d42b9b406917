"""Demo executions over the last 90 days, loaded through the bulk import (the path of
`manage.py import_executions`): executions, id guards and every counter row, a chunk at a time.

`seed_demo --executions N` (default 20,000) spreads N executions over the demo tenants. Budgets are
then set (through the budget service, audited) so that the demo shows one tenant on track, one
with a forecast above budget, one over.

The generator below makes believable executions (deterministic from one rng) for the demo and the
benchmarks.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from dashboard.accounts.scope import API, STAFF, AccessScope
from dashboard.analytics import pricing, services, traces
from dashboard.analytics.models import EXECUTION_TTL_DAYS, Execution, scoped_key
from dashboard.analytics.queries import budget_status
from dashboard.analytics.services import set_budget
from dashboard.core.clock import iso_ms
from dashboard.core.seeding import SeedContext


@dataclass(frozen=True)
class AgentProfile:
    agent_id: str
    models: tuple[tuple[str, float], ...]  # (model, weight)
    tokens_in: int  # typical input tokens
    tokens_out: int  # typical output tokens
    failure_rate: float


# Model names as providers answer them (dated, or the host's own id), priced by the catalogue.
GPT_4O_MINI = "gpt-4o-mini-2024-07-18"
GPT_4O = "gpt-4o-2024-08-06"
SONNET = "claude-3-5-sonnet-20241022"
HAIKU = "claude-3-5-haiku-20241022"
MISTRAL = "mistral-large-2411"
LLAMA = "meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo"
AGENT_SHAPES = (
    ("support-triage", ((GPT_4O_MINI, 0.7), (GPT_4O, 0.3)), 1_800, 350, 0.04),
    ("code-reviewer", ((SONNET, 0.8), (GPT_4O, 0.2)), 9_000, 1_400, 0.06),
    ("invoice-extractor", ((GPT_4O, 0.6), (HAIKU, 0.4)), 4_200, 600, 0.03),
    ("research-assistant", ((SONNET, 0.5), (MISTRAL, 0.5)), 12_000, 2_500, 0.08),
    ("sql-copilot", ((LLAMA, 0.6), (GPT_4O_MINI, 0.4)), 2_500, 300, 0.05),
    ("meeting-summarizer", ((HAIKU, 0.7), (GPT_4O_MINI, 0.3)), 15_000, 900, 0.02),
)
FAILURE_KINDS = (("failed", 0.6), ("timeout", 0.3), ("cancelled", 0.1))
ERRORS = {
    "failed": ("Tool call returned 500 from crm.lookup", "Model refused: output schema mismatch"),
    "timeout": ("No answer within 120 s",),
    "cancelled": ("Cancelled by the user",),
}
PROMPTS = (
    "Summarise the attached ticket thread and propose a reply.",
    "Review this pull request for security problems.",
    "Extract invoice number, total and due date from the PDF.",
    "Find three recent papers on retrieval-augmented generation.",
    "Write a SQL query for monthly active users by plan.",
)


def agent_profiles(tenant_id: str, count: int = 5) -> list[AgentProfile]:
    return [
        AgentProfile(f"{tenant_id}-{name}", models, tokens_in, tokens_out, failure_rate)
        for name, models, tokens_in, tokens_out, failure_rate in AGENT_SHAPES[:count]
    ]


def _pick(rng: random.Random, weighted: Sequence[tuple[str, float]]) -> str:
    roll = rng.random() * sum(weight for _, weight in weighted)
    for value, weight in weighted:
        roll -= weight
        if roll <= 0:
            return value
    return weighted[-1][0]


def _day_weights(days: int, end: datetime) -> list[float]:
    """Weekdays busier than weekends, and a gentle growth over the period."""
    weights = []
    for offset in range(days):
        day = end - timedelta(days=days - 1 - offset)
        weekday = 1.0 if day.weekday() < 5 else 0.45
        weights.append(weekday * (0.75 + 0.5 * offset / max(1, days - 1)))
    return weights


def generate(
    rng: random.Random,
    tenant_id: str,
    users: Sequence[str],
    count: int,
    now: datetime,
    days: int = 90,
    agents: Sequence[AgentProfile] | None = None,
    id_prefix: str = "exe",
    short_text: bool = False,
) -> Iterator[Execution]:
    """`count` executions spread over the `days` days up to `now`, oldest day first."""
    agents = list(agents or agent_profiles(tenant_id))
    weights = _day_weights(days, now)
    scale = count / sum(weights)
    per_day = [int(w * scale) for w in weights]
    # Hand the rounding remainder to the days that lost the most, not all to one day.
    by_loss = sorted(range(days), key=lambda day: per_day[day] - weights[day] * scale)
    for day in by_loss[: count - sum(per_day)]:
        per_day[day] += 1
    start_of_today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    sequence = 0
    for offset, runs in enumerate(per_day):
        day_start = start_of_today - timedelta(days=days - 1 - offset)
        # Today only up to now, so nothing lies in the future.
        span = (now - day_start).total_seconds() if offset == days - 1 else 86_400
        for _ in range(runs):
            sequence += 1
            started = day_start + timedelta(seconds=rng.random() * span * 0.999)
            yield _one(
                rng, tenant_id, users, agents, started, f"{id_prefix}_{tenant_id}_{sequence:07d}", short_text
            )


def _one(rng, tenant_id, users, agents, started, execution_id, short_text) -> Execution:
    agent = agents[min(len(agents) - 1, int(rng.paretovariate(1.6)) - 1)]
    model = _pick(rng, agent.models)
    tokens_in = max(50, int(agent.tokens_in * rng.lognormvariate(0, 0.5)))
    tokens_out = max(10, int(agent.tokens_out * rng.lognormvariate(0, 0.6)))
    status = "succeeded"
    if rng.random() < agent.failure_rate:
        status = _pick(rng, FAILURE_KINDS)
    duration = int(300 + tokens_out * 18 * rng.lognormvariate(0, 0.35) + tokens_in * 0.05)
    if status == "timeout":
        duration = 120_000 + rng.randint(0, 500)
        tokens_out = 0
    elif status != "succeeded":
        duration = int(duration * rng.random())
        tokens_out = int(tokens_out * rng.random() * 0.3)
    # Prompt caching as agents see it: a repeated system prompt read from the cache on most calls.
    cache_read = int(tokens_in * rng.uniform(0.2, 0.6)) if rng.random() < 0.5 else 0
    usage = pricing.Usage(input=tokens_in, output=tokens_out, cache_read=cache_read)
    price = pricing.catalogue_quote(model, usage, started)
    started_at = iso_ms(started)
    user_id = users[min(len(users) - 1, int(abs(rng.gauss(0, len(users) / 2.5))))]
    prompt = PROMPTS[int(rng.random() * len(PROMPTS))]
    return Execution(
        agent_key=scoped_key(tenant_id, agent.agent_id),
        sk=f"{started_at}#{execution_id}",
        agent_id=agent.agent_id,
        execution_id=execution_id,
        tenant_execution=scoped_key(tenant_id, execution_id),
        tenant_id=tenant_id,
        tenant_status=f"{tenant_id}#{status}",
        user_id=user_id,
        tenant_user=scoped_key(tenant_id, user_id),
        model=model,
        status=status,
        started_at=started_at,
        finished_at=iso_ms(started + timedelta(milliseconds=duration)),
        duration_ms=duration,
        input=prompt if short_text else f"{prompt}\n\n" + "Context line. " * int(math.sqrt(tokens_in)),
        output="" if status != "succeeded" else ("OK" if short_text else "Done: " + "result " * 20),
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        tokens_cache_read=cache_read,
        provider=price.provider,
        cost_micro_usd=price.cost_micro_usd,
        price_source=price.source,
        price_ref=price.ref,
        error=rng.choice(ERRORS[status]) if status != "succeeded" else None,
        expires_at=started + timedelta(days=EXECUTION_TTL_DAYS),
    )


WRITERS = 4
TENANT_SHARES = (0.5, 0.35, 0.15)
EXTRA_USERS = 8
# Demo budgets against each tenant's figures: on track, forecast above budget, over budget.
BUDGET_STATES = ("ok", "forecast_over", "over")


def seed(ctx: SeedContext) -> None:
    total = int(ctx.options.get("executions") or 20_000)
    tenants = ctx.tenants
    if not tenants or total <= 0:
        return
    shares = [TENANT_SHARES[i] if i < len(TENANT_SHARES) else 0.1 for i in range(len(tenants))]
    counts = [int(total * share / sum(shares)) for share in shares]
    counts[0] += total - sum(counts)
    for position, (tenant, count) in enumerate(zip(tenants, counts, strict=True)):
        admins = [user.user_id for user in ctx.admins.get(tenant.tenant_id, [])]
        users = admins + [f"{tenant.tenant_id}-user-{n:02d}" for n in range(1, EXTRA_USERS + 1)]
        agents = agent_profiles(tenant.tenant_id, count=max(3, 6 - position))
        executions = generate(ctx.rng, tenant.tenant_id, users, count, ctx.now, days=90, agents=agents)
        label = f"agent executions of {tenant.tenant_id}"
        services.import_stream(ctx.progress(executions, label, total=count, unit="run"), threads=WRITERS)
    _set_budgets(ctx)
    seed_traces(ctx)


def _set_budgets(ctx: SeedContext) -> None:
    if not ctx.staff:
        return
    staff = ctx.staff[0]
    for tenant, wanted in zip(ctx.tenants, BUDGET_STATES, strict=False):
        scope = AccessScope(STAFF, staff.user_id, staff.email, tenant.tenant_id)
        status = budget_status(tenant.tenant_id, None, ctx.now)
        spent, projected = status.month_to_date_micro_usd, status.forecast_micro_usd
        target = {
            "ok": projected * 1.4,
            "forecast_over": (spent + projected) / 2,  # between spend and forecast
            "over": spent * 0.8,
        }[wanted]
        budget = _round_budget(target)
        if _state(spent, projected, budget) != wanted:
            budget = max(1, int(target))  # rounding crossed a line (e.g. the last hours of a month)
        set_budget(scope, tenant.tenant_id, budget, None)


def _state(spent: int, projected: int, budget: int) -> str:
    return "over" if spent > budget else ("forecast_over" if projected > budget else "ok")


def _round_budget(micro_usd: float) -> int:
    """Two significant digits, at least one cent: budgets people would type."""
    value = max(10_000, int(micro_usd))
    step = 10 ** max(4, len(str(value)) - 2)
    return max(10_000, round(value / step) * step)


def seed_traces(ctx: SeedContext) -> None:
    """A few agent runs per tenant sent as OpenTelemetry traces, so the execution page shows steps.

    They go through the same path as an OTLP export (`traces.accept`), from protobuf messages built
    here as an instrumented agent would send them.
    """
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.trace.v1 import trace_pb2

    def attrs(**values) -> list[KeyValue]:
        return [
            KeyValue(
                key=key.replace("__", "."),
                value=AnyValue(int_value=v) if isinstance(v, int) else AnyValue(string_value=v),
            )
            for key, v in values.items()
        ]

    for tenant in ctx.tenants:
        scope = AccessScope(API, f"key_demo_{tenant.tenant_id}", "demo traces", tenant.tenant_id)
        request = ExportTraceServiceRequest()
        spans_of = request.resource_spans.add()
        spans_of.resource.attributes.extend(attrs(service__name=f"{tenant.tenant_id}-support"))
        spans = spans_of.scope_spans.add().spans
        for run in range(3):
            trace_id = ctx.rng.randbytes(16)
            start = int((ctx.now.timestamp() - 3600 * (run + 1)) * 1e9)
            agent_id = ctx.rng.randbytes(8)
            agent = spans.add(
                trace_id=trace_id,
                span_id=agent_id,
                name="invoke_agent support-triage",
                kind=1,
                start_time_unix_nano=start,
                end_time_unix_nano=start + 4_200_000_000,
            )
            agent.attributes.extend(
                attrs(
                    gen_ai__operation__name="invoke_agent",
                    gen_ai__agent__name="support-triage",
                    user__id=f"{tenant.tenant_id}-user-0{run + 1}",
                )
            )
            steps = [
                ("chat", "gpt-4o-mini", 900, 300, 0.2, 1.1),
                ("execute_tool", None, 0, 0, 1.3, 1.9),
                ("chat", "gpt-4o", 2100, 420, 2.0, 4.0),
            ]
            for operation, model, tokens_in, tokens_out, begin, end in steps:
                step = spans.add(
                    trace_id=trace_id,
                    span_id=ctx.rng.randbytes(8),
                    parent_span_id=agent_id,
                    name=f"{operation} {model or 'lookup_order'}",
                    kind=3,
                    start_time_unix_nano=start + int(begin * 1e9),
                    end_time_unix_nano=start + int(end * 1e9),
                )
                values = {"gen_ai__operation__name": operation}
                if model:
                    values.update(
                        gen_ai__request__model=model,
                        gen_ai__response__model=model,
                        gen_ai__usage__input_tokens=tokens_in,
                        gen_ai__usage__output_tokens=tokens_out,
                    )
                step.attributes.extend(attrs(**values))
                if run == 2 and operation == "execute_tool":
                    step.status.code = trace_pb2.Status.STATUS_CODE_ERROR
                    step.status.message = "order service answered 503"
        traces.accept(scope, request)
