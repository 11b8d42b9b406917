"""One agent program instrumented by a real OpenAI instrumentation library, exporting to the dashboard.

Run in its own process (the libraries patch the same SDK):

    python -m tests.api.instrumented_agent LIBRARY PROVIDER_URL DASHBOARD_URL KEY AGENT

LIBRARY is one of:
- `genai`: OpenTelemetry's `opentelemetry-instrumentation-openai-v2` (GenAI semantic conventions), the
  agent span from `opentelemetry-util-genai`'s `invoke_local_agent`;
- `openllmetry`: Traceloop's `opentelemetry-instrumentation-openai`, the agent span and association
  properties as `traceloop-sdk`'s `@agent` decorator and span processor write them (the SDK itself
  brings ~50 instrumentations and grpc: not worth installing for two attributes);
- `openinference`: Arize's `openinference-instrumentation-openai`, the agent span from
  `openinference-instrumentation`'s OITracer, user/session/metadata/tags from its context managers;
- `smolagents`: a smolagents ToolCallingAgent on an OpenAI-compatible model, instrumented by
  `openinference-instrumentation-smolagents`.

It makes: one bare chat call; one agent run (user `USER`, session `SESSION`) with two model calls;
one bare chat call the provider refuses (429). It prints the ids of what it sent as one JSON line.
"""

from __future__ import annotations

import json
import os
import sys

import openai
from opentelemetry import context as otel_context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

USER, SESSION = "user-42", "session-9"
PROMPT = [{"role": "user", "content": "Where is my order A-1?"}]
FAILING = [{"role": "user", "content": "PLEASE_FAIL now"}]


def _client(provider_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=provider_url, api_key="sk-test", max_retries=0)


def _chat(client: openai.OpenAI, messages: list) -> None:
    client.chat.completions.create(model="gpt-4o-mini", messages=messages)


def _failing_chat(client: openai.OpenAI) -> None:
    try:
        _chat(client, FAILING)
    except openai.RateLimitError:
        pass
    else:
        raise SystemExit("the provider was meant to refuse this call")


def run_genai(provider: TracerProvider, provider_url: str, agent: str) -> None:
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
    from opentelemetry.util.genai.handler import TelemetryHandler

    OpenAIInstrumentor().instrument(tracer_provider=provider)
    client = _client(provider_url)
    _chat(client, PROMPT)
    handler = TelemetryHandler(tracer_provider=provider)
    with handler.invoke_local_agent(agent_name=agent, request_model="gpt-4o-mini") as invocation:
        invocation.attributes["user.id"] = USER
        invocation.attributes["gen_ai.conversation.id"] = SESSION
        _chat(client, PROMPT)
        _chat(client, PROMPT + [{"role": "assistant", "content": "Let me look."}])
    _failing_chat(client)


class TraceloopAssociation(SpanProcessor):
    """What traceloop-sdk's span processor does: association properties of the context on every span."""

    KEY = "association_properties"

    def on_start(self, span, parent_context=None) -> None:
        properties = otel_context.get_value(self.KEY, parent_context) or {}
        for name, value in properties.items():
            span.set_attribute(f"traceloop.association.properties.{name}", value)


def run_openllmetry(provider: TracerProvider, provider_url: str, agent: str) -> None:
    from opentelemetry.instrumentation.openai import OpenAIInstrumentor

    OpenAIInstrumentor().instrument(tracer_provider=provider)
    client = _client(provider_url)
    _chat(client, PROMPT)
    tracer = provider.get_tracer("traceloop.tracer")
    token = otel_context.attach(
        otel_context.set_value(TraceloopAssociation.KEY, {"user_id": USER, "session_id": SESSION})
    )
    try:
        # traceloop-sdk's @agent(name=…): span `<name>.agent`, kind, entity and workflow name, input/output
        with tracer.start_as_current_span(f"{agent}.agent") as span:
            span.set_attribute("traceloop.span.kind", "agent")
            span.set_attribute("traceloop.entity.name", agent)
            span.set_attribute("traceloop.workflow.name", agent)
            span.set_attribute("traceloop.entity.input", json.dumps({"args": ["Where is my order A-1?"]}))
            with tracer.start_as_current_span("lookup_order.tool") as tool:
                tool.set_attribute("traceloop.span.kind", "tool")
                tool.set_attribute("traceloop.entity.name", "lookup_order")
                _chat(client, PROMPT)
            _chat(client, PROMPT + [{"role": "assistant", "content": "Let me look."}])
            span.set_attribute("traceloop.entity.output", json.dumps("Order A-1 ships tomorrow."))
    finally:
        otel_context.detach(token)
    _failing_chat(client)


def run_openinference(provider: TracerProvider, provider_url: str, agent: str) -> None:
    from openinference.instrumentation import OITracer, TraceConfig, using_attributes
    from openinference.instrumentation.openai import OpenAIInstrumentor

    OpenAIInstrumentor().instrument(tracer_provider=provider)
    client = _client(provider_url)
    _chat(client, PROMPT)
    tracer = OITracer(provider.get_tracer("support.agent"), config=TraceConfig())
    with (
        using_attributes(session_id=SESSION, user_id=USER, metadata={"tier": "gold"}, tags=["support", "eu"]),
        tracer.start_as_current_span(agent, openinference_span_kind="agent") as span,
    ):
        span.set_input("Where is my order A-1?")
        _chat(client, PROMPT)
        _chat(client, PROMPT + [{"role": "assistant", "content": "Let me look."}])
        span.set_output("Order A-1 ships tomorrow.")
    _failing_chat(client)


def run_smolagents(provider: TracerProvider, provider_url: str, agent: str) -> None:
    from openinference.instrumentation import using_attributes
    from openinference.instrumentation.smolagents import SmolagentsInstrumentor
    from smolagents import OpenAIServerModel, ToolCallingAgent, tool

    SmolagentsInstrumentor().instrument(tracer_provider=provider)

    @tool
    def lookup_order(order_id: str) -> str:
        """Where an order is.

        Args:
            order_id: The order's id.
        """
        return f"Order {order_id} ships tomorrow."

    model = OpenAIServerModel(
        model_id="gpt-4o-mini",
        api_base=provider_url,
        api_key="sk-test",
        client_kwargs={"max_retries": 0},
        retry=False,  # smolagents waits a minute before retrying a 429
    )
    model(PROMPT)  # a bare model call
    runner = ToolCallingAgent(tools=[lookup_order], model=model, name=agent.replace("-", "_"), max_steps=3, verbosity_level=0)
    with using_attributes(session_id=SESSION, user_id=USER, tags=["support"]):
        runner.run("Where is my order A-1?")
    try:
        model(FAILING)
    except openai.RateLimitError:
        pass
    else:
        raise SystemExit("the provider was meant to refuse this call")


RUNNERS = {
    "genai": run_genai,
    "openllmetry": run_openllmetry,
    "openinference": run_openinference,
    "smolagents": run_smolagents,
}


def main(library: str, provider_url: str, dashboard_url: str, key: str, agent: str) -> None:
    os.environ.setdefault("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    provider = TracerProvider(resource=Resource.create({"service.name": agent}))
    if library == "openllmetry":
        provider.add_span_processor(TraceloopAssociation())
    exporter = OTLPSpanExporter(
        endpoint=dashboard_url + "/api/otel/v1/traces", headers={"Authorization": "Bearer " + key}, timeout=30
    )
    sent: list[dict] = []

    class Record(SpanProcessor):
        def on_end(self, span) -> None:
            sent.append(
                {
                    "name": span.name,
                    "trace_id": format(span.context.trace_id, "032x"),
                    "span_id": format(span.context.span_id, "016x"),
                    "parent": format(span.parent.span_id, "016x") if span.parent else None,
                    "scope": span.instrumentation_scope.name if span.instrumentation_scope else None,
                    "attributes": {
                        name: value if isinstance(value, str | int | float | bool) else list(value)
                        for name, value in (span.attributes or {}).items()
                    },
                    "status": span.status.status_code.name,
                }
            )

    provider.add_span_processor(Record())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    RUNNERS[library](provider, provider_url, agent)
    provider.force_flush()
    provider.shutdown()
    print(json.dumps(sent))


if __name__ == "__main__":
    main(*sys.argv[1:6])
