"""OTLP attributes that carry issue #28's dimensions: Langfuse-style `langfuse.*`, the resource's
`deployment.environment`, `diatonic.flow_id`, and values beyond the limits (cut, never refused)."""

from __future__ import annotations

import json

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tests.analytics.conftest import TenantKit, make_tenant, slug
from tests.api.spans import MINI, exporter


@pytest.fixture(scope="module")
def tenant(people) -> TenantKit:
    return make_tenant(people)


def _export(web_server: str, tenant: TenantKit, resource: dict, agent_attributes: dict) -> None:
    provider = TracerProvider(resource=Resource.create(resource))
    provider.add_span_processor(SimpleSpanProcessor(exporter(web_server, tenant.token)))
    tracer = provider.get_tracer("langfuse-sdk")
    with (
        tracer.start_as_current_span(
            "agent", attributes={"gen_ai.operation.name": "invoke_agent", **agent_attributes}
        ),
        tracer.start_as_current_span(
            "chat",
            attributes={"gen_ai.operation.name": "chat", **MINI, "gen_ai.usage.input_tokens": 10},
        ),
    ):
        pass
    provider.shutdown()


def test_langfuse_attributes_and_the_flow_become_the_executions_dimensions(web_server, tenant):
    agent = slug("lf")
    _export(
        web_server,
        tenant,
        {"service.name": agent, "deployment.environment": "staging"},
        {
            "gen_ai.agent.name": agent,
            "langfuse.session.id": "chat-1",
            "langfuse.tags": ["beta", "eu"],
            "langfuse.metadata": json.dumps({"plan": "pro"}),
            "diatonic.flow_id": "flow-9",
        },
    )
    status, body = tenant.get(f"/api/agents/{agent}/runs")
    [run] = body["runs"]
    assert (run["environment"], run["session_id"], run["tags"], run["metadata"], run["flow_id"]) == (
        "staging",
        "chat-1",
        ["beta", "eu"],
        {"plan": "pro"},
        "flow-9",
    )


def test_the_span_environment_wins_and_values_over_the_limits_are_cut_not_refused(web_server, tenant):
    agent = slug("cut")
    _export(
        web_server,
        tenant,
        {"service.name": agent, "deployment.environment.name": "production"},
        {
            "gen_ai.agent.name": agent,
            "langfuse.environment": "canary#2 " + "x" * 60,
            "tag.tags": [f"tag {n}#" for n in range(15)],
            "metadata": json.dumps({f"key{n}": "v" * 300 for n in range(15)}),
        },
    )
    status, body = tenant.get(f"/api/agents/{agent}/runs")
    [run] = body["runs"]
    assert run["environment"].startswith("canary-2") and len(run["environment"]) <= 40
    assert run["tags"] == [f"tag {n}" for n in range(10)]
    assert len(run["metadata"]) == 10 and all(len(value) == 200 for value in run["metadata"].values())


def test_a_traced_run_of_a_flow_made_from_a_template_adds_to_the_template_with_its_calls_cost(
    web_server, tenant
):
    """Recorded at zero, its model calls then add their cost to the tenant's rows and the template's."""
    from dashboard.analytics import template_costs
    from dashboard.analytics.models import Execution
    from tests.marketplace.conftest import make_flow
    from tests.marketplace.test_template_costs import template_rows

    template_id = slug("tpl")
    flow_id = make_flow(tenant.tenant_id, template_id)
    agent = slug("tf")
    _export(
        web_server, tenant, {"service.name": agent}, {"gen_ai.agent.name": agent, "diatonic.flow_id": flow_id}
    )
    [execution] = [e for e in Execution.by_tenant.query(tenant.tenant_id) if e.agent_id == agent]
    assert execution.template_id == template_id and execution.cost_micro_usd > 0
    runs, cost, tenants = template_rows(template_id, execution.started_at[:10])
    assert (runs, cost, tenants) == (
        1,
        execution.cost_micro_usd,
        {template_costs.tenant_mark(tenant.tenant_id)},
    )
