"""Believable agent executions for the demo seed and the benchmark (deterministic from one rng)."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from dashboard.analytics import pricing
from dashboard.analytics.models import EXECUTION_TTL_DAYS, Execution, scoped_key
from dashboard.core.clock import iso_ms


@dataclass(frozen=True)
class AgentProfile:
    agent_id: str
    models: tuple[tuple[str, float], ...]  # (model, weight)
    tokens_in: int  # typical input tokens
    tokens_out: int  # typical output tokens
    failure_rate: float


AGENT_SHAPES = (
    ("support-triage", (("gpt-4o-mini", 0.7), ("gpt-4o", 0.3)), 1_800, 350, 0.04),
    ("code-reviewer", (("claude-3-5-sonnet", 0.8), ("gpt-4o", 0.2)), 9_000, 1_400, 0.06),
    ("invoice-extractor", (("gpt-4o", 0.6), ("claude-3-5-haiku", 0.4)), 4_200, 600, 0.03),
    ("research-assistant", (("claude-3-5-sonnet", 0.5), ("mistral-large", 0.5)), 12_000, 2_500, 0.08),
    ("sql-copilot", (("llama-3.1-70b", 0.6), ("gpt-4o-mini", 0.4)), 2_500, 300, 0.05),
    ("meeting-summarizer", (("claude-3-5-haiku", 0.7), ("gpt-4o-mini", 0.3)), 15_000, 900, 0.02),
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
    price = pricing.price_for(model)
    cost = pricing.cost_micro_usd(price, tokens_in, tokens_out) if price else 0
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
        cost_micro_usd=cost,
        error=rng.choice(ERRORS[status]) if status != "succeeded" else None,
        expires_at=started + timedelta(days=EXECUTION_TTL_DAYS),
    )
