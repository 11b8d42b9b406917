"""Demo executions over the last 90 days, loaded through the bulk import (the path of
`manage.py import_executions`): executions, id guards and every counter row, a chunk at a time.

`seed_demo --executions N` (default 20,000) spreads N executions over the demo tenants. Budgets are
then set (through the budget service, audited) so that the demo shows one tenant on track, one
with a forecast above budget, one over.
"""

from __future__ import annotations

from dashboard.accounts.scope import API, STAFF, AccessScope
from dashboard.analytics import budgets, generator, services, traces
from dashboard.core.seeding import SeedContext

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
        agents = generator.agent_profiles(tenant.tenant_id, count=max(3, 6 - position))
        executions = generator.generate(
            ctx.rng, tenant.tenant_id, users, count, ctx.now, days=90, agents=agents
        )
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
        status = budgets.budget_status(tenant.tenant_id, None, ctx.now)
        spent, projected = status.month_to_date_micro_usd, status.forecast_micro_usd
        target = {
            "ok": projected * 1.4,
            "forecast_over": (spent + projected) / 2,  # between spend and forecast
            "over": spent * 0.8,
        }[wanted]
        budget = _round_budget(target)
        if _state(spent, projected, budget) != wanted:
            budget = max(1, int(target))  # rounding crossed a line (e.g. the last hours of a month)
        budgets.set_budget(scope, tenant.tenant_id, budget, None)


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
