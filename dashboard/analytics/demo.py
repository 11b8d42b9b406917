"""Demo executions over the last 90 days, loaded through the bulk import (the path of
`manage.py import_executions`): executions, id guards and every counter row, a chunk at a time.

Most demo executions carry their steps, as if their agent had sent them as an OpenTelemetry trace:
an agent span, one or two model calls and a tool call, stored as the `span#`, `exec#` and `count#`
items `traces.reconcile` would have stored (built by its own functions: `span_item`, `run_for`,
`pin_item`, `count_marker`), so the execution's tokens and cost are the sums of its counted model
calls and re-pricing and re-sent spans treat them like any trace. They are batch-written beside
their chunk of executions. Timeouts and cancellations came through the runs API: no steps.

`seed_demo --executions N` (default 12,000) spreads N executions over the demo tenants. Budgets are
then set (through the budget service, audited) so that the demo shows one tenant on track, one
with a forecast above budget, one over.

The generator below makes believable executions (deterministic from one rng) for the demo and the
benchmarks.
"""

from __future__ import annotations

import itertools
import random
import threading
import zlib
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from dashboard.analytics import compaction, pricing, services, template_summaries, traces
from dashboard.analytics.models import EXECUTION_TTL_DAYS, Execution, TraceItem, scoped_key, session_key
from dashboard.analytics.queries import budget_status
from dashboard.analytics.services import set_budget
from dashboard.analytics.spans import SpanValues
from dashboard.core.clock import iso_ms
from dashboard.core.scope import API, STAFF, AccessScope
from dashboard.core.seeding import SeedContext
from dashboard.dynamo.transactions import batch_put


@dataclass(frozen=True)
class AgentProfile:
    agent_id: str
    models: tuple[tuple[str, float], ...]  # (model, weight)
    tokens_in: int  # typical input tokens
    tokens_out: int  # typical output tokens
    failure_rate: float
    kind: str = ""  # the shape's name (support-triage, …): its prompts, answers and tool


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
# What each kind of agent is asked and answers (short, as people type and agents reply), and its tool.
EXCHANGES = {
    "support-triage": (
        (
            "Customer says they were charged twice for the March invoice. Triage and draft a reply.",
            "Billing, high priority. Draft: Sorry about the double charge — I've refunded the duplicate "
            "payment; it shows on your statement within 5 working days.",
        ),
        (
            "Ticket #4821: login emails never arrive for users at northwind.example. What now?",
            "Account access, medium. Their mail server rejects our sender; asked IT to allow "
            "no-reply@diatonic.example and resent the link.",
        ),
        (
            "Summarise this thread and propose a reply: the export button greys out after the update.",
            "Known issue after 4.2 (exports over 10k rows). Reply: a fix ships Thursday; until then "
            "filter by month to export.",
        ),
    ),
    "code-reviewer": (
        (
            "Review PR #312: adds a retry loop around the payments client.",
            "Two issues: retries are not idempotent (add an idempotency key), and the loop has no "
            "backoff cap. Otherwise fine.",
        ),
        (
            "Check this diff for security problems: new /export endpoint streams CSV.",
            "The endpoint skips the tenant check on export_id — any signed-in user can read another "
            "tenant's file. Cells starting with = need escaping.",
        ),
        (
            "Review the migration that splits the users table.",
            "Looks safe: backfill is batched and reversible. Add an index on users_profile.user_id "
            "before the switch.",
        ),
    ),
    "invoice-extractor": (
        (
            "Extract invoice number, total and due date from INV-2024-0193.pdf.",
            '{"invoice_number": "INV-2024-0193", "total": "4,180.00 EUR", "due_date": "2025-01-31"}',
        ),
        (
            "Extract supplier, VAT id and line items from the scanned invoice from Kessler GmbH.",
            '{"supplier": "Kessler GmbH", "vat_id": "DE811234567", "lines": 3, "total": "912.40 EUR"}',
        ),
    ),
    "research-assistant": (
        (
            "Find three recent papers on retrieval-augmented generation for legal documents.",
            "1. LegalBench-RAG (2024) — a benchmark for retrieval in contracts. 2. CBR-RAG (2024) — "
            "case-based retrieval. 3. Chunking strategies for statutes (2023). Summaries below.",
        ),
        (
            "What changed in the EU AI Act's final text for general-purpose models?",
            "Providers must publish a training-data summary, keep technical documentation and, above "
            "10^25 FLOPs, assess and mitigate systemic risk. Sources linked.",
        ),
    ),
    "sql-copilot": (
        (
            "Monthly active users by plan for the last six months.",
            "SELECT date_trunc('month', seen_at) AS month, plan, count(DISTINCT user_id) FROM "
            "activity JOIN accounts USING (account_id) WHERE seen_at >= now() - interval '6 months' "
            "GROUP BY 1, 2 ORDER BY 1;",
        ),
        (
            "Which customers have not logged in for 30 days but still pay?",
            "SELECT a.name FROM accounts a WHERE a.status = 'paying' AND NOT EXISTS (SELECT 1 FROM "
            "activity x WHERE x.account_id = a.account_id AND x.seen_at > now() - interval '30 days');",
        ),
    ),
    "meeting-summarizer": (
        (
            "Summarise the weekly product sync (transcript attached, 42 minutes).",
            "Decisions: ship the new onboarding on the 14th; drop the legacy importer. Actions: Dana — "
            "release notes; Lee — migration guide. Open: pricing page copy.",
        ),
        (
            "Action items from the customer call with Globex.",
            "1. Send the SSO setup guide (Ken, Friday). 2. Quote for 20 more seats (Ada). 3. Follow up "
            "on the data-residency question.",
        ),
    ),
}
TOOLS = {
    "support-triage": "crm.lookup",
    "code-reviewer": "git.diff",
    "invoice-extractor": "ocr.read_pdf",
    "research-assistant": "web.search",
    "sql-copilot": "warehouse.schema",
    "meeting-summarizer": "transcripts.fetch",
}
# Of the executions that could have come as traces (succeeded, failed), how many did: most.
TRACED_SHARE = 0.95
# A traced run: the agent, its tool and one model call (5 trace items with the pin and the call's
# marker); this share of them also has a first model call, planning the tool call (7 items).
TWO_CALLS = 0.3


def agent_profiles(tenant_id: str, count: int = 5) -> list[AgentProfile]:
    return [
        AgentProfile(f"{tenant_id}-{name}", models, tokens_in, tokens_out, failure_rate, name)
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


@dataclass
class DemoRun:
    """One demo execution and, when it came as a trace, the trace items stored for it."""

    execution: Execution
    trace: list[TraceItem] = field(default_factory=list)


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
    """`count` executions spread over the `days` days up to `now`, oldest day first (no steps)."""
    for run in generate_runs(rng, tenant_id, users, count, now, days, agents, id_prefix, short_text):
        yield run.execution


def generate_runs(
    rng: random.Random,
    tenant_id: str,
    users: Sequence[str],
    count: int,
    now: datetime,
    days: int = 90,
    agents: Sequence[AgentProfile] | None = None,
    id_prefix: str = "exe",
    short_text: bool = False,
    traced_share: float = 0.0,
) -> Iterator[DemoRun]:
    """As `generate`; of the succeeded and failed ones, `traced_share` came as traces (with steps)."""
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
            # Whole milliseconds, as stored, so a trace's nanoseconds give back the same start.
            started = started.replace(microsecond=started.microsecond // 1000 * 1000)
            yield _one(
                rng,
                tenant_id,
                users,
                agents,
                started,
                f"{id_prefix}_{tenant_id}_{sequence:07d}",
                short_text,
                traced_share,
                now,
            )


def _texts(rng: random.Random, agent: AgentProfile, short_text: bool) -> tuple[str, str]:
    exchanges = EXCHANGES.get(agent.kind) or EXCHANGES["support-triage"]
    prompt, answer = exchanges[int(rng.random() * len(exchanges))]
    return (prompt[:60], "OK") if short_text else (prompt, answer)


def _one(
    rng, tenant_id, users, agents, started, execution_id, short_text, traced_share=0.0, now=None
) -> DemoRun:
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
    user_id = users[min(len(users) - 1, int(abs(rng.gauss(0, len(users) / 2.5))))]
    prompt, answer = _texts(rng, agent, short_text)
    error = rng.choice(ERRORS[status]) if status != "succeeded" else None
    if status in ("succeeded", "failed") and traced_share and rng.random() < traced_share:
        usage = pricing.Usage(input=tokens_in, output=tokens_out, cache_read=cache_read)
        return _traced(
            rng, tenant_id, agent, model, usage, started, duration, user_id, prompt, answer, error, now
        )
    usage = pricing.Usage(input=tokens_in, output=tokens_out, cache_read=cache_read)
    price = pricing.catalogue_quote(model, usage, started)
    started_at = iso_ms(started)
    dimensions = demo_dimensions(execution_id, agent, user_id, started)
    execution = Execution(
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
        input=prompt,
        output=answer if status == "succeeded" else "",
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        tokens_cache_read=cache_read,
        provider=price.provider,
        cost_micro_usd=price.cost_micro_usd,
        price_source=price.source,
        price_ref=price.ref,
        error=error,
        expires_at=started + timedelta(days=EXECUTION_TTL_DAYS),
        session_key=session_key(tenant_id, dimensions["session_id"]),
        **dimensions,
    )
    return DemoRun(execution)


DEMO_TIERS = ("tier=free", "tier=pro", "tier=enterprise")


def demo_session(user_id: str, agent: AgentProfile, started: datetime) -> str:
    """A conversation: one user's runs of one agent within the same hour."""
    return f"{user_id}-{agent.kind or agent.agent_id}-{started:%m%d%H}"[:128]


def demo_dimensions(execution_id: str, agent: AgentProfile, user_id: str, started: datetime) -> dict:
    """Environment, session, tags and metadata of a demo execution (issue #28), from its own id so the
    demo's random stream (and every figure the tests derive from it) stays as it was."""
    rng = random.Random(execution_id)  # noqa: S311 — demo data
    environment = "production" if rng.random() < 0.8 else rng.choice(("staging", "dev"))
    session = demo_session(user_id, agent, started)
    tier = DEMO_TIERS[zlib.crc32(user_id.encode()) % len(DEMO_TIERS)]  # a user keeps one tier
    tags = [agent.kind or "agent", tier] + (["beta"] if rng.random() < 0.1 else [])
    return {
        "environment": environment,
        "session_id": session,
        "tags": tags,
        "metadata": {"region": rng.choice(("eu-west-1", "us-east-1"))},
    }


def _split(total: int, share: float) -> tuple[int, int]:
    first = int(total * share)
    return first, total - first


def _traced(
    rng, tenant_id, agent, model, usage, started, duration, user_id, prompt, answer, error, now
) -> DemoRun:
    """The execution and trace items `traces.accept` would have stored for this agent run's spans:
    an agent span, the agent's tool and a model call answering (sometimes a first call before the
    tool, planning it)."""
    trace_id = rng.randbytes(16).hex()
    agent_span = rng.randbytes(8).hex()
    start_ns = int(started.timestamp() * 1000) * 1_000_000
    end_ns = start_ns + duration * 1_000_000
    failed = error is not None
    tool = TOOLS.get(agent.kind, "lookup")

    def at(fraction: float) -> int:
        return start_ns + int(duration * fraction) * 1_000_000

    def span(name, kind, operation, begin, end, **values) -> SpanValues:
        return SpanValues(
            trace_id=trace_id,
            span_id=values.pop("span_id", None) or rng.randbytes(8).hex(),
            parent_span_id=values.pop("parent", agent_span),
            name=name,
            kind=kind,
            operation=operation,
            gen_ai=True,
            model=values.pop("model", None),
            provider=None,
            tokens_in=values.pop("tokens_in", 0),
            tokens_out=values.pop("tokens_out", 0),
            tokens_cache_read=values.pop("cache_read", 0),
            tokens_cache_write=0,
            tokens_reasoning=0,
            start_ns=begin,
            end_ns=end,
            failed=values.pop("failed", False),
            error=values.pop("error", None),
            agent_id=agent.agent_id,
            user_id=values.pop("user_id", None),
            session_id=values.pop("session_id", None),
            environment=values.pop("environment", None),
            tags=values.pop("tags", None),
            metadata=values.pop("metadata", None),
            input=values.pop("input", None),
            output=values.pop("output", None),
        )

    tool_failed = failed and error.startswith("Tool call")
    two_calls = not tool_failed and rng.random() < TWO_CALLS
    spans = [
        span(
            f"invoke_agent {agent.kind or agent.agent_id}",
            "agent",
            "invoke_agent",
            start_ns,
            end_ns,
            span_id=agent_span,
            parent=None,
            user_id=user_id,
            # Environment, conversation, tags and metadata as the untraced runs get them, drawn from the
            # trace id (not the demo's stream: every figure derived from it stays as it was).
            **demo_dimensions(trace_id, agent, user_id, started),
            input=prompt,
            output=None if failed else answer,
            failed=failed,
            error=error,
        )
    ]
    if two_calls:
        in1, in2 = _split(usage.input, rng.uniform(0.3, 0.45))
        out1, out2 = _split(usage.output, rng.uniform(0.1, 0.2))
        cached1, cached2 = _split(usage.cache_read, in1 / usage.input)
        calls = [(in1, out1, cached1, 0.02, 0.34), (in2, out2, cached2, 0.58, 0.99)]
        tool_at = (0.36, 0.56)
    elif tool_failed:  # the model asked for the tool, which failed: the agent gave up
        calls = [(usage.input, usage.output, usage.cache_read, 0.02, 0.6)]
        tool_at = (0.62, 0.97)
    else:  # the tool first (a lookup), then the model answers with what it found
        calls = [(usage.input, usage.output, usage.cache_read, 0.28, 0.99)]
        tool_at = (0.02, 0.26)
    for number, (tokens_in, tokens_out, cached, begin, end) in enumerate(calls):
        last = number == len(calls) - 1
        refused = failed and last and not tool_failed
        spans.append(
            span(
                f"chat {model}",
                "model",
                "chat",
                at(begin),
                at(end),
                model=model,
                tokens_in=tokens_in,
                tokens_out=tokens_out,
                cache_read=cached,
                failed=refused,
                error=error if refused else None,
            )
        )
    spans.append(
        span(
            f"execute_tool {tool}",
            "tool",
            "execute_tool",
            at(tool_at[0]),
            at(tool_at[1]),
            failed=tool_failed,
            error=f"{tool} answered HTTP 500" if tool_failed else None,
        )
    )
    items = {values.span_id: traces.span_item(tenant_id, values) for values in spans}
    state = traces.TraceState(items, {}, {})
    run = traces.run_for(state, agent_span, {agent_span})
    execution, errors = services.build_execution(tenant_id, agent.agent_id, run, now, from_trace=True)
    if execution is None:
        raise ValueError(f"a demo trace makes no execution: {errors}")
    model_calls = [item for item in items.values() if item.kind == "model"]
    # What traces._count adds for the calls: the execution's totals are their sums.
    execution.tokens_in = sum(int(call.tokens_in) for call in model_calls)
    execution.tokens_out = sum(int(call.tokens_out) for call in model_calls)
    for name in traces.TOKEN_KINDS:
        setattr(execution, name, sum(int(getattr(call, name) or 0) for call in model_calls))
    execution.cost_micro_usd = sum(int(call.cost_micro_usd) for call in model_calls)
    trace = [
        *items.values(),
        traces.pin_item(tenant_id, items[agent_span], run, recorded=True),
        *(traces.count_marker(call, execution.execution_id) for call in model_calls),
    ]
    return DemoRun(execution, trace)


EXECUTIONS = 12_000  # `seed_demo --executions`: about 130 a day over 90 days, most with steps
WRITERS = 4
CHUNK = 500  # executions per import chunk (and progress step)
TENANT_SHARES = (0.5, 0.35, 0.15)
EXTRA_USERS = 8
# Demo budgets against each tenant's figures: on track, forecast above budget, over budget.
BUDGET_STATES = ("ok", "forecast_over", "over")


def seed(ctx: SeedContext) -> None:
    total = int(ctx.options.get("executions") or EXECUTIONS)
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
        runs = generate_runs(
            ctx.rng,
            tenant.tenant_id,
            users,
            count,
            ctx.now,
            90,
            agents,
            traced_share=TRACED_SHARE,
        )
        flows = [flow.flow_id for flow in ctx.template_flows.get(tenant.tenant_id, [])]
        write_runs(ctx, with_template_flows(runs, flows, ctx.now), count, f"executions of {tenant.tenant_id}")
    with ctx.step("each template's figures across tenants (last 30 days)"):
        template_summaries.rebuild(ctx.now.date())
    with ctx.step("monthly budgets (on track, forecast over, over)"):
        _set_budgets(ctx)
    with ctx.step("3 agent runs per tenant sent as OpenTelemetry traces"):
        seed_traces(ctx)


TEMPLATE_FLOW_SHARE = 0.25  # of the last 40 days' runs: run by a flow made from a marketplace template


def with_template_flows(runs: Iterator[DemoRun], flow_ids: list[str], now: datetime) -> Iterator[DemoRun]:
    """Name a flow made from a template (marketplace demo) on a share of the recent runs, chosen from
    each run's own id (not ctx.rng: every figure derived from the demo's random stream stays as it was),
    so the marketplace cards show what those templates cost across the demo tenants."""
    since = iso_ms(now - timedelta(days=40))
    for demo_run in runs:
        execution = demo_run.execution
        if flow_ids and execution.started_at >= since:
            pick = zlib.crc32(f"flow:{execution.execution_id}".encode())
            if pick % 1000 < TEMPLATE_FLOW_SHARE * 1000:
                execution.flow_id = flow_ids[pick % len(flow_ids)]
        yield demo_run


def write_runs(ctx: SeedContext, runs: Iterator[DemoRun], count: int, label: str) -> None:
    """Import the executions a chunk at a time (`services.import_chunk`: executions, id guards,
    counter rows) with their trace items batch-written beside them; the bar counts what is written."""
    bar = ctx.progress(None, label, total=count, unit="run")
    steps = 0
    lock = threading.Lock()

    def write(chunk: list[DemoRun]) -> None:
        nonlocal steps
        services.import_chunk([run.execution for run in chunk])
        items = [item for run in chunk for item in run.trace]
        batch_put(TraceItem, items)
        with lock:
            steps += len(items)
            bar.update(len(chunk))
            bar.set_postfix_str(f"{steps:,} trace items", refresh=False)

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        in_flight: list[Future] = []
        while chunk := list(itertools.islice(runs, CHUNK)):
            in_flight.append(pool.submit(write, chunk))
            while len(in_flight) > WRITERS:  # at most WRITERS + 1 chunks held
                in_flight.pop(0).result()
        for future in in_flight:
            future.result()
    bar.close()
    for tenant in ctx.tenants:  # the settled days packed, as the importer does: fast from the first view
        compaction.rebuild(tenant.tenant_id)


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
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue
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
                    session__id=f"{tenant.tenant_id}-user-0{run + 1}-support-triage",
                    deployment__environment__name="production",
                    input__value=EXCHANGES["support-triage"][run][0],
                    output__value=EXCHANGES["support-triage"][run][1],
                )
            )
            labels = ArrayValue(values=[AnyValue(string_value="support"), AnyValue(string_value="tier=pro")])
            agent.attributes.append(KeyValue(key="tag.tags", value=AnyValue(array_value=labels)))
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
