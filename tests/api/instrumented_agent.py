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
  `openinference-instrumentation-smolagents`;
- `openllmetry-anthropic`, `openinference-anthropic`: the `anthropic` SDK's Messages API (PROVIDER_URL is
  tests/api/fake_anthropic.py) instrumented by OpenLLMetry's `opentelemetry-instrumentation-anthropic` or
  Arize's `openinference-instrumentation-anthropic`, the agent span as for their OpenAI cases (that PyPI name is
  OpenLLMetry's: OpenTelemetry's contrib publishes no Anthropic instrumentation of its own).

It makes: one bare chat call; one agent run (user `USER`, session `SESSION`) with two model calls;
one bare chat call the provider refuses (429; Anthropic: 529). It prints what it sent as one JSON line.
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager

import openai
from opentelemetry import context as otel_context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

USER, SESSION = "user-42", "session-9"
ENVIRONMENT = "production"  # the resource's deployment.environment.name, as OTEL_RESOURCE_ATTRIBUTES sets it
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


@contextmanager
def traceloop_agent(provider: TracerProvider, agent: str, tool_name: str | None = None):
    """traceloop-sdk's @agent(name=…) (and @tool inside it): span `<name>.agent`, kind, entity and workflow
    name, input/output, the user and session as association properties. Yields a context manager for
    the tool span (a no-op without `tool_name`)."""
    tracer = provider.get_tracer("traceloop.tracer")
    token = otel_context.attach(
        otel_context.set_value(TraceloopAssociation.KEY, {"user_id": USER, "session_id": SESSION})
    )

    @contextmanager
    def tool():
        if tool_name is None:
            yield
            return
        with tracer.start_as_current_span(f"{tool_name}.tool") as span:
            span.set_attribute("traceloop.span.kind", "tool")
            span.set_attribute("traceloop.entity.name", tool_name)
            yield

    try:
        with tracer.start_as_current_span(f"{agent}.agent") as span:
            span.set_attribute("traceloop.span.kind", "agent")
            span.set_attribute("traceloop.entity.name", agent)
            span.set_attribute("traceloop.workflow.name", agent)
            span.set_attribute("traceloop.entity.input", json.dumps({"args": ["Where is my order A-1?"]}))
            yield tool
            span.set_attribute("traceloop.entity.output", json.dumps("Order A-1 ships tomorrow."))
    finally:
        otel_context.detach(token)


def run_openllmetry(provider: TracerProvider, provider_url: str, agent: str) -> None:
    from opentelemetry.instrumentation.openai import OpenAIInstrumentor

    OpenAIInstrumentor().instrument(tracer_provider=provider)
    client = _client(provider_url)
    _chat(client, PROMPT)
    with traceloop_agent(provider, agent, tool_name="lookup_order") as tool:
        with tool():
            _chat(client, PROMPT)
        _chat(client, PROMPT + [{"role": "assistant", "content": "Let me look."}])
    _failing_chat(client)


@contextmanager
def openinference_agent(provider: TracerProvider, agent: str, tags: list[str]):
    """An OpenInference agent span (OITracer) with user, session, metadata and tags from its context managers."""
    from openinference.instrumentation import OITracer, TraceConfig, using_attributes

    tracer = OITracer(provider.get_tracer("support.agent"), config=TraceConfig())
    with (
        using_attributes(session_id=SESSION, user_id=USER, metadata={"tier": "gold"}, tags=tags),
        tracer.start_as_current_span(agent, openinference_span_kind="agent") as span,
    ):
        span.set_input("Where is my order A-1?")
        yield
        span.set_output("Order A-1 ships tomorrow.")


def run_openinference(provider: TracerProvider, provider_url: str, agent: str) -> None:
    from openinference.instrumentation.openai import OpenAIInstrumentor

    OpenAIInstrumentor().instrument(tracer_provider=provider)
    client = _client(provider_url)
    _chat(client, PROMPT)
    with openinference_agent(provider, agent, tags=["support", "eu"]):
        _chat(client, PROMPT)
        _chat(client, PROMPT + [{"role": "assistant", "content": "Let me look."}])
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
    runner = ToolCallingAgent(
        tools=[lookup_order], model=model, name=agent.replace("-", "_"), max_steps=3, verbosity_level=0
    )
    with using_attributes(session_id=SESSION, user_id=USER, tags=["support"]):
        runner.run("Where is my order A-1?")
    try:
        model(FAILING)
    except openai.RateLimitError:
        pass
    else:
        raise SystemExit("the provider was meant to refuse this call")


# --- Anthropic's Messages API (tests/api/fake_anthropic.py) --------------------------------------


def _anthropic_client(provider_url: str):
    import anthropic

    return anthropic.Anthropic(base_url=provider_url, api_key="x", max_retries=0)


def _message(client, messages: list) -> None:
    client.messages.create(model="claude-3-5-sonnet-latest", max_tokens=1024, messages=messages)


def _failing_message(client) -> None:
    import anthropic

    try:
        _message(client, FAILING)
    except anthropic.APIStatusError as exc:
        if exc.status_code != 529:
            raise
    else:
        raise SystemExit("the provider was meant to refuse this call")


def run_openllmetry_anthropic(provider: TracerProvider, provider_url: str, agent: str) -> None:
    from opentelemetry.instrumentation.anthropic import AnthropicInstrumentor

    AnthropicInstrumentor().instrument(tracer_provider=provider)
    client = _anthropic_client(provider_url)
    _message(client, PROMPT)
    with traceloop_agent(provider, agent):
        _message(client, PROMPT)
        _message(client, PROMPT + [{"role": "assistant", "content": "Let me look."}, *PROMPT])
    _failing_message(client)


def run_openinference_anthropic(provider: TracerProvider, provider_url: str, agent: str) -> None:
    from openinference.instrumentation.anthropic import AnthropicInstrumentor

    AnthropicInstrumentor().instrument(tracer_provider=provider)
    client = _anthropic_client(provider_url)
    _message(client, PROMPT)
    with openinference_agent(provider, agent, tags=["support"]):
        _message(client, PROMPT)
        _message(client, PROMPT + [{"role": "assistant", "content": "Let me look."}, *PROMPT])
    _failing_message(client)


RUNNERS = {
    "genai": run_genai,
    "openllmetry": run_openllmetry,
    "openinference": run_openinference,
    "smolagents": run_smolagents,
    "openllmetry-anthropic": run_openllmetry_anthropic,
    "openinference-anthropic": run_openinference_anthropic,
}


def main(library: str, provider_url: str, dashboard_url: str, key: str, agent: str) -> None:
    os.environ.setdefault("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    os.environ["OTEL_RESOURCE_ATTRIBUTES"] = f"deployment.environment.name={ENVIRONMENT}"
    provider = TracerProvider(resource=Resource.create({"service.name": agent}))
    if library.startswith("openllmetry"):
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
