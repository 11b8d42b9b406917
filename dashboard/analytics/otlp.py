"""OTLP spans → the values a step keeps (pure mapping, no DynamoDB; dashboard.analytics.traces stores them).

Attribute mapping (OpenTelemetry GenAI semantic conventions, with the older names OpenLLMetry sends):

| step value  | attributes, first present wins                                                       |
|-------------|--------------------------------------------------------------------------------------|
| kind        | `gen_ai.operation.name`: invoke_agent → agent; execute_tool → tool; chat,             |
|             | text_completion, generate_content, embeddings (or any span with a model or token      |
|             | usage) → model; anything else → step                                                  |
| agent       | `gen_ai.agent.id`, `gen_ai.agent.name`, the resource's `service.name`                  |
| user        | `user.id`, `enduser.id` (span, then resource)                                         |
| model       | `gen_ai.response.model`, `gen_ai.request.model`                                       |
| tokens      | `gen_ai.usage.input_tokens` / `gen_ai.usage.output_tokens` (also `…prompt_tokens` /   |
|             | `…completion_tokens`)                                                                 |
| status      | the span status: ERROR → failed; its message, else the `exception` event's message,   |
|             | else `error.type`, is the error                                                       |
| input/output| `gen_ai.input.messages` / `gen_ai.output.messages`, `input.value` / `output.value`    |
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from opentelemetry.proto.trace.v1 import trace_pb2

from dashboard.analytics import pricing
from dashboard.core.otlp import as_text, attributes

AGENT_OPERATIONS = {"invoke_agent"}
TOOL_OPERATIONS = {"execute_tool"}
MODEL_OPERATIONS = {"chat", "text_completion", "generate_content", "embeddings"}
NAME_LIMIT = 256
ERROR_LIMIT = 2_000
TEXT_LIMIT = 8_000  # input/output kept on agent spans (the execution shows them)
TOKEN_LIMIT = 100_000_000
GENERIC_ERROR = "The span ended with an error."  # an ERROR status with no message or exception
_NOT_ID = re.compile(r"[^A-Za-z0-9._:@/-]+")


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
        return span.status.message[:ERROR_LIMIT]
    for event in span.events:
        if event.name == "exception":
            event_attrs = attributes(event.attributes)
            kind, message = event_attrs.get("exception.type"), event_attrs.get("exception.message")
            text = ": ".join(str(part) for part in (kind, message) if part)
            if text:
                return text[:ERROR_LIMIT]
    error_type = attrs.get("error.type")
    return str(error_type)[:ERROR_LIMIT] if error_type else GENERIC_ERROR


def _kind(operation: str | None, model: str | None, has_usage: bool) -> str:
    if operation in AGENT_OPERATIONS:
        return "agent"
    if operation in TOOL_OPERATIONS:
        return "tool"
    if operation in MODEL_OPERATIONS or (operation is None and (model or has_usage)):
        return "model"
    return "step"


def span_values(span: trace_pb2.Span, resource: dict[str, Any]) -> SpanValues:
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
    model = clean_id(_first(attrs, "gen_ai.response.model", "gen_ai.request.model"))
    usage_in = _first(attrs, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
    usage_out = _first(attrs, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
    kind = _kind(operation, model, usage_in is not None or usage_out is not None)
    tokens_in, tokens_out = (_tokens(usage_in), _tokens(usage_out)) if kind == "model" else (0, 0)
    failed = span.status.code == trace_pb2.Status.STATUS_CODE_ERROR
    agent = clean_id(_first(attrs, "gen_ai.agent.id", "gen_ai.agent.name")) or clean_id(
        resource.get("service.name")
    )
    user = _first(attrs, "user.id", "enduser.id") or _first(resource, "user.id", "enduser.id")
    text_in = text_out = None
    if kind == "agent" or span.parent_span_id == b"":
        text_in = as_text(_first(attrs, "gen_ai.input.messages", "input.value", "gen_ai.prompt"))[:TEXT_LIMIT]
        text_out = as_text(_first(attrs, "gen_ai.output.messages", "output.value", "gen_ai.completion"))[
            :TEXT_LIMIT
        ]
    return SpanValues(
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_span_id=span.parent_span_id.hex() if span.parent_span_id else None,
        name=(span.name or "(unnamed span)")[:NAME_LIMIT],
        kind=kind,
        operation=operation,
        gen_ai=any(name.startswith("gen_ai.") for name in attrs),
        model=model,
        provider=None,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        tokens_cache_read=0,
        tokens_cache_write=0,
        tokens_reasoning=0,
        start_ns=span.start_time_unix_nano,
        end_ns=max(span.end_time_unix_nano, span.start_time_unix_nano),
        failed=failed,
        error=_error_of(span, attrs) if failed else None,
        agent_id=agent or "unknown_service",
        user_id=clean_id(user),
        input=text_in or None,
        output=text_out or None,
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
                    kept.append(span_values(span, resource))
                except Rejected as exc:
                    reasons.append(str(exc))
    return kept, reasons
