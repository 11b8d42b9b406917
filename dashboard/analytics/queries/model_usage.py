"""Which agents called one model name lately, and with how many tokens: what a change to the model
they call would re-price (the registry's cost impact before a version replaces another).

Read through the history's bounded export (`export_rows`: at most EXPORT_ROWS executions in
EXPORT_CALLS calls, the model as a filter on the tenant's index, expired items hidden); `truncated`
says when more matched than were read. Not re-exported from `queries/__init__.py`: import the module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from dashboard.analytics.inputs import ExecutionFilters
from dashboard.analytics.pricing import Usage
from dashboard.analytics.queries.history import export_rows
from dashboard.core.scope import AccessScope


@dataclass
class AgentUsage:
    agent_id: str
    executions: int = 0
    usage: Usage = field(default_factory=Usage)
    cost_micro_usd: int = 0  # as recorded (priced when each execution arrived)


@dataclass
class ModelUsage:
    model: str
    start: date
    end: date
    agents: list[AgentUsage]  # most tokens first
    truncated: bool

    @property
    def executions(self) -> int:
        return sum(agent.executions for agent in self.agents)


def model_usage(scope: AccessScope, tenant_id: str, model: str, days: int, now: datetime) -> ModelUsage:
    """Each agent's executions of `model` (the name as agents sent it) over the `days` days up to
    today, and their summed token usage. DynamoDB: at most EXPORT_CALLS Query calls."""
    end = now.date()
    start = end - timedelta(days=days - 1)
    export = export_rows(scope, ExecutionFilters(model=model, start=start, end=end), tenant_id)
    agents: dict[str, AgentUsage] = {}
    for execution in export.executions:
        agent = agents.setdefault(execution.agent_id, AgentUsage(execution.agent_id))
        agent.executions += 1
        agent.cost_micro_usd += int(execution.cost_micro_usd or 0)
        agent.usage = agent.usage + Usage(
            input=int(execution.tokens_in or 0),
            output=int(execution.tokens_out or 0),
            cache_read=int(execution.tokens_cache_read or 0),
            cache_write=int(execution.tokens_cache_write or 0),
            reasoning=int(execution.tokens_reasoning or 0),
        )
    ranked = sorted(agents.values(), key=lambda a: (-(a.usage.input + a.usage.output), a.agent_id))
    return ModelUsage(model, start, end, ranked, export.truncated)
