"""Agent runs as the OpenTelemetry SDK records them, and its OTLP/HTTP exporter pointed at the test server."""

from __future__ import annotations

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

MINI = {"gen_ai.request.model": "gpt-4o-mini", "gen_ai.response.model": "gpt-4o-mini"}
FOUR_O = {"gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o"}
# gpt-4o-mini: 1000 in, 500 out → 450 µUSD; gpt-4o: 2000 in, 300 out → 8,000 µUSD (pricing.py).
COST = 8_450


def record_agent_run(agent: str, *, fail: bool = False, user: str = "user-7") -> list:
    """Spans of one agent run as the SDK ends them: model calls and a tool call first, the agent last."""
    captured = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "support-service"}))
    provider.add_span_processor(SimpleSpanProcessor(captured))
    tracer = provider.get_tracer("support.agent")
    agent_attributes = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": agent, "user.id": user}

    def run() -> None:
        with tracer.start_as_current_span(f"invoke_agent {agent}", attributes=agent_attributes):
            with tracer.start_as_current_span(
                "chat gpt-4o-mini",
                attributes={
                    "gen_ai.operation.name": "chat",
                    **MINI,
                    "gen_ai.usage.input_tokens": 1000,
                    "gen_ai.usage.output_tokens": 500,
                },
            ):
                pass
            with tracer.start_as_current_span(
                "execute_tool search_orders", attributes={"gen_ai.operation.name": "execute_tool"}
            ):
                pass
            with tracer.start_as_current_span(
                "chat gpt-4o",
                attributes={
                    "gen_ai.operation.name": "chat",
                    **FOUR_O,
                    "gen_ai.usage.input_tokens": 2000,
                    "gen_ai.usage.output_tokens": 300,
                },
            ):
                if fail:
                    raise RuntimeError("rate limited by the model provider")

    if fail:
        with pytest.raises(RuntimeError):
            run()
    else:
        run()
    provider.shutdown()
    return list(captured.get_finished_spans())


def exporter(web_server: str, token: str, **options) -> OTLPSpanExporter:
    return OTLPSpanExporter(
        endpoint=web_server + "/api/otel/v1/traces",
        headers={"Authorization": "Bearer " + token},
        timeout=30,
        **options,
    )
