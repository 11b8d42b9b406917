"""OTLP spans → the values a step keeps (pure mapping, no DynamoDB; dashboard.analytics.traces stores them).

Three conventions are read, each as its instrumentations send it (tests/api/test_otel_instrumentations.py
runs the real libraries): the OpenTelemetry GenAI semantic conventions (current and deprecated names),
OpenLLMetry/Traceloop, and OpenInference. An *LLM-convention span* (`gen_ai` below) carries any
`gen_ai.*`, `llm.*` or `traceloop.*` attribute or `openinference.span.kind`.

| step value  | attributes, first present wins                                                        |
|-------------|---------------------------------------------------------------------------------------|
| kind        | `gen_ai.operation.name`: invoke_agent → agent; execute_tool → tool; chat,              |
|             | text_completion, generate_content, embeddings → model; else `openinference.span.kind`: |
|             | AGENT → agent, TOOL → tool, LLM and EMBEDDING → model, others → step; else            |
|             | `traceloop.span.kind`: agent → agent, tool → tool, workflow/task → step; else a span  |
|             | with a model or token usage → model; anything else → step                             |
| agent       | `gen_ai.agent.id`, `gen_ai.agent.name`, `agent.name`, on agent spans                   |
|             | `traceloop.entity.name`; else the resource's `service.name`                           |
| user        | `user.id`, `enduser.id`, `traceloop.association.properties.user_id` (span, resource)  |
| session     | `session.id`, `gen_ai.conversation.id`, `traceloop.association.properties.session_id`, |
|             | `langfuse.session.id` (span, resource)                                                |
| environment | `deployment.environment.name`, `deployment.environment`, `langfuse.environment`        |
|             | (span, resource)                                                                      |
| tags        | `tag.tags` (OpenInference), `langfuse.tags`, `langfuse.trace.tags` (list or JSON list) |
| metadata    | `metadata` (OpenInference, a JSON object), `langfuse.metadata` (JSON object), and the |
|             | other `traceloop.association.properties.<key>` (OpenLLMetry)                          |
| flow        | `diatonic.flow_id`                                                                    |
Dimensions are cut to the limits of `inputs.RunIn` (never a reason to reject a span): characters a
key cannot hold become '-', then the first 10 tags / metadata keys and 40 / 200 characters are kept.
| model       | `gen_ai.response.model`, `gen_ai.request.model`, `llm.model_name`,                     |
|             | `embedding.model_name`, `llm.response.model`, `llm.request.model`, the `model` of     |
|             | `llm.invocation_parameters`                                                           |
| provider    | `gen_ai.provider.name`, `gen_ai.system`, `llm.provider`, `llm.system`                  |
| tokens      | see TOKEN_ATTRIBUTES: input (cached included), output (reasoning included), cache     |
|             | read, cache write, reasoning                                                          |
| status      | the span status: ERROR → failed; its message, else the `exception` event's message,    |
|             | else `error.type`, is the error                                                       |
| input/output| `gen_ai.input.messages` / `gen_ai.output.messages`, `input.value` / `output.value`,    |
|             | `traceloop.entity.input` / `traceloop.entity.output`, `gen_ai.prompt` / `…completion` |
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from opentelemetry.proto.trace.v1 import trace_pb2

from dashboard.analytics import pricing
from dashboard.core.otlp import as_text, attributes, clean

AGENT_OPERATIONS = {"invoke_agent"}
TOOL_OPERATIONS = {"execute_tool"}
MODEL_OPERATIONS = {"chat", "text_completion", "generate_content", "embeddings"}
OPENINFERENCE_KINDS = {"AGENT": "agent", "TOOL": "tool", "LLM": "model", "EMBEDDING": "model"}
TRACELOOP_KINDS = {"agent": "agent", "tool": "tool"}  # workflow, task: steps
CONVENTION_PREFIXES = ("gen_ai.", "llm.", "traceloop.")
MODEL_ATTRIBUTES = (
    "gen_ai.response.model",
    "gen_ai.request.model",
    "llm.model_name",
    "embedding.model_name",
    "llm.response.model",
    "llm.request.model",
)
PROVIDER_ATTRIBUTES = ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system")
USER_ATTRIBUTES = ("user.id", "enduser.id", "traceloop.association.properties.user_id")
SESSION_ATTRIBUTES = (
    "session.id",
    "gen_ai.conversation.id",
    "traceloop.association.properties.session_id",
    "langfuse.session.id",
)
ENVIRONMENT_ATTRIBUTES = ("deployment.environment.name", "deployment.environment", "langfuse.environment")
TAG_ATTRIBUTES = ("tag.tags", "langfuse.tags", "langfuse.trace.tags")
METADATA_ATTRIBUTES = ("metadata", "langfuse.metadata")
ASSOCIATION_PREFIX = "traceloop.association.properties."
FLOW_ATTRIBUTES = ("diatonic.flow_id",)
AGENT_ATTRIBUTES = ("gen_ai.agent.id", "gen_ai.agent.name", "agent.name")
# Token counts per kind, first present wins: GenAI semconv (current, then deprecated), OpenLLMetry, OpenInference.
TOKEN_ATTRIBUTES = {
    "input": (
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.prompt_tokens",
        "llm.usage.prompt_tokens",
        "llm.token_count.prompt",
    ),
    "output": (
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.completion_tokens",
        "llm.usage.completion_tokens",
        "llm.token_count.completion",
    ),
    "cache_read": (
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.cache_read_input_tokens",
        "llm.usage.cache_read_input_tokens",
        "llm.token_count.prompt_details.cache_read",
    ),
    "cache_write": (
        "gen_ai.usage.cache_creation.input_tokens",
        "gen_ai.usage.cache_write.input_tokens",
        "gen_ai.usage.cache_creation_input_tokens",
        "llm.usage.cache_creation_input_tokens",
        "llm.token_count.prompt_details.cache_write",
    ),
    "reasoning": (
        "gen_ai.usage.reasoning.output_tokens",
        "gen_ai.usage.reasoning_tokens",
        "llm.usage.reasoning_tokens",
        "llm.token_count.completion_details.reasoning",
    ),
}
TAG_LIMIT, TAGS_LIMIT = 40, 10  # inputs.MAX_TAG_LENGTH, MAX_TAGS
ENVIRONMENT_LIMIT = 40
METADATA_KEYS, METADATA_KEY_LIMIT, METADATA_VALUE_LIMIT = 10, 40, 200
NAME_LIMIT = 256
ERROR_LIMIT = 2_000
TEXT_LIMIT = 8_000  # input/output kept on agent spans (the execution shows them)
TOKEN_LIMIT = 100_000_000
GENERIC_ERROR = "The span ended with an error."  # an ERROR status with no message or exception
_NOT_ID = re.compile(r"[^A-Za-z0-9._:@/-]+")
_NOT_TAG = re.compile(r"[^A-Za-z0-9 ._:@/=-]+")
_NOT_KEY = re.compile(r"[^A-Za-z0-9._:-]+")
_EDGE = " ._:@/=-"


def clean_id(value: Any) -> str | None:
    """A client's name as an id of ours: 1–128 of the characters keys allow (others become '-')."""
    if value is None:
        return None
    text = _NOT_ID.sub("-", str(value)).strip("-._:@/")[:128]
    return text or None


def _first(attrs: dict[str, Any], *names: str) -> Any:
    for name in names:
        value = attrs.get(name)
        if value not in (None, ""):
            return value
    return None


def _tokens(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 0
    return min(max(number, 0), TOKEN_LIMIT)


@dataclass
class SpanValues:
    trace_id: str  # 32 hex digits
    span_id: str  # 16 hex digits
    parent_span_id: str | None
    name: str
    kind: str  # agent | model | tool | step
    operation: str | None
    gen_ai: bool
    model: str | None
    provider: str | None
    tokens_in: int
    tokens_out: int
    tokens_cache_read: int
    tokens_cache_write: int
    tokens_reasoning: int
    start_ns: int
    end_ns: int
    failed: bool
    error: str | None
    agent_id: str
    user_id: str | None
    input: str | None
    output: str | None
    session_id: str | None = None
    tags: list[str] | None = None
    scope: str = ""
    environment: str | None = None
    metadata: dict[str, str] | None = None
    flow_id: str | None = None  # the instrumentation scope's name

    @property
    def usage(self) -> pricing.Usage:
        return pricing.Usage(
            input=self.tokens_in,
            output=self.tokens_out,
            cache_read=self.tokens_cache_read,
            cache_write=self.tokens_cache_write,
            reasoning=self.tokens_reasoning,
        ).normalized()

    @property
    def is_root(self) -> bool:
        return self.parent_span_id is None


class Rejected(ValueError):
    """A span that cannot be kept, with the reason told back to the client."""


def _error_of(span: trace_pb2.Span, attrs: dict[str, Any]) -> str | None:
    if span.status.message:
        return clean(span.status.message)[:ERROR_LIMIT]
    for event in span.events:
        if event.name == "exception":
            event_attrs = attributes(event.attributes)
            kind, message = event_attrs.get("exception.type"), event_attrs.get("exception.message")
            text = ": ".join(str(part) for part in (kind, message) if part)
            if text:
                return text[:ERROR_LIMIT]
    error_type = attrs.get("error.type")
    return str(error_type)[:ERROR_LIMIT] if error_type else GENERIC_ERROR


def _kind(attrs: dict[str, Any], operation: str | None, model: str | None, has_usage: bool) -> str:
    if operation in AGENT_OPERATIONS:
        return "agent"
    if operation in TOOL_OPERATIONS:
        return "tool"
    if operation in MODEL_OPERATIONS:
        return "model"
    if operation is None:
        openinference = attrs.get("openinference.span.kind")
        if openinference is not None:
            return OPENINFERENCE_KINDS.get(str(openinference).upper(), "step")
        traceloop = attrs.get("traceloop.span.kind")
        if traceloop is not None:
            return TRACELOOP_KINDS.get(str(traceloop).lower(), "step")
        if model or has_usage:
            return "model"
    return "step"


def is_llm_convention(attrs: dict[str, Any]) -> bool:
    """The span follows one of the conventions read here (GenAI, OpenLLMetry, OpenInference)."""
    return "openinference.span.kind" in attrs or any(name.startswith(CONVENTION_PREFIXES) for name in attrs)


def _model(attrs: dict[str, Any]) -> str | None:
    model = _first(attrs, *MODEL_ATTRIBUTES)
    if model is None and isinstance(attrs.get("llm.invocation_parameters"), str):
        try:  # OpenInference's request parameters: the model asked for (a failed call has no other)
            parameters = json.loads(attrs["llm.invocation_parameters"])
        except ValueError:
            parameters = None
        if isinstance(parameters, dict):
            model = parameters.get("model")
    return clean_id(model) if isinstance(model, str | int) else None


def _json_or(value: Any) -> Any:
    """A JSON list or object sent as a string (OpenInference's `metadata`), else the value itself."""
    if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _tag(value: Any) -> str:
    return _NOT_TAG.sub("-", str(value)).strip(_EDGE)[:TAG_LIMIT].strip(_EDGE)


def _tags(value: Any) -> list[str] | None:
    value = _json_or(value)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        return None
    tags = [_tag(tag) for tag in value if tag not in (None, "")]
    return list(dict.fromkeys(tag for tag in tags if tag))[:TAGS_LIMIT] or None


def _environment(value: Any) -> str | None:
    text = clean_id(value)
    return text[:ENVIRONMENT_LIMIT].rstrip("-._:@/") or None if text else None


def _metadata(attrs: dict[str, Any]) -> dict[str, str] | None:
    found: dict[str, str] = {}
    for name in METADATA_ATTRIBUTES:
        value = _json_or(attrs.get(name))
        if isinstance(value, dict):
            found.update(value)
    for name, value in attrs.items():
        key = name.removeprefix(ASSOCIATION_PREFIX)
        if key != name and key not in ("user_id", "session_id"):
            found.setdefault(key, value)
    kept: dict[str, str] = {}
    for key, value in found.items():
        key = _NOT_KEY.sub("-", str(key)).strip("-._:")[:METADATA_KEY_LIMIT]
        if not key or value is None or key in kept:
            continue
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        kept[key] = text[:METADATA_VALUE_LIMIT]
        if len(kept) == METADATA_KEYS:
            break
    return kept or None


def span_values(span: trace_pb2.Span, resource: dict[str, Any], scope: str = "") -> SpanValues:
    """The step kept for one span, or Rejected."""
    if len(span.trace_id) != 16 or not any(span.trace_id):
        raise Rejected("a span needs a 16-byte, non-zero trace id")
    if len(span.span_id) != 8 or not any(span.span_id):
        raise Rejected("a span needs an 8-byte, non-zero span id")
    if span.parent_span_id and len(span.parent_span_id) != 8:
        raise Rejected("a parent span id has 8 bytes")
    if not span.start_time_unix_nano:
        raise Rejected("a span needs its start time")
    attrs = attributes(span.attributes)
    operation = _first(attrs, "gen_ai.operation.name")
    operation = str(operation)[:64] if operation is not None else None
    model = _model(attrs)
    usage = {kind: _first(attrs, *names) for kind, names in TOKEN_ATTRIBUTES.items()}
    kind = _kind(attrs, operation, model, usage["input"] is not None or usage["output"] is not None)
    tokens = {name: _tokens(value) if kind == "model" else 0 for name, value in usage.items()}
    failed = span.status.code == trace_pb2.Status.STATUS_CODE_ERROR
    agent = _first(attrs, *AGENT_ATTRIBUTES)
    if agent is None and kind == "agent" and "traceloop.span.kind" in attrs:
        agent = _first(attrs, "traceloop.entity.name")
    agent = clean_id(agent) or clean_id(resource.get("service.name"))
    user = _first(attrs, *USER_ATTRIBUTES) or _first(resource, *USER_ATTRIBUTES)
    session = _first(attrs, *SESSION_ATTRIBUTES) or _first(resource, *SESSION_ATTRIBUTES)
    provider = _first(attrs, *PROVIDER_ATTRIBUTES)
    text_in = text_out = None
    if kind == "agent" or span.parent_span_id == b"":
        text_in = as_text(
            _first(attrs, "gen_ai.input.messages", "input.value", "traceloop.entity.input", "gen_ai.prompt")
        )[:TEXT_LIMIT]
        text_out = as_text(
            _first(
                attrs,
                "gen_ai.output.messages",
                "output.value",
                "traceloop.entity.output",
                "gen_ai.completion",
            )
        )[:TEXT_LIMIT]
    return SpanValues(
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_span_id=span.parent_span_id.hex() if span.parent_span_id else None,
        name=(clean(span.name) or "(unnamed span)")[:NAME_LIMIT],
        kind=kind,
        operation=operation,
        gen_ai=is_llm_convention(attrs),
        model=model,
        provider=str(provider)[:64] if provider is not None else None,
        tokens_in=tokens["input"],
        tokens_out=tokens["output"],
        tokens_cache_read=tokens["cache_read"],
        tokens_cache_write=tokens["cache_write"],
        tokens_reasoning=tokens["reasoning"],
        start_ns=span.start_time_unix_nano,
        end_ns=max(span.end_time_unix_nano, span.start_time_unix_nano),
        failed=failed,
        error=_error_of(span, attrs) if failed else None,
        agent_id=agent or "unknown_service",
        user_id=clean_id(user),
        input=text_in or None,
        output=text_out or None,
        session_id=clean_id(session),
        tags=_tags(_first(attrs, *TAG_ATTRIBUTES) or _first(resource, *TAG_ATTRIBUTES)),
        scope=clean(scope)[:NAME_LIMIT],
        environment=_environment(
            _first(attrs, *ENVIRONMENT_ATTRIBUTES) or _first(resource, *ENVIRONMENT_ATTRIBUTES)
        ),
        metadata=_metadata(attrs) or _metadata(resource),
        flow_id=clean_id(_first(attrs, *FLOW_ATTRIBUTES) or _first(resource, *FLOW_ATTRIBUTES)),
    )


def spans_of(request: Any) -> tuple[list[SpanValues], list[str]]:
    """Every span of an ExportTraceServiceRequest mapped, and one reason per span rejected."""
    kept: list[SpanValues] = []
    reasons: list[str] = []
    for resource_spans in request.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                try:
                    kept.append(span_values(span, resource, scope_spans.scope.name))
                except Rejected as exc:
                    reasons.append(str(exc))
    return kept, reasons
