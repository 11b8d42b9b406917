"""OTLP/HTTP receivers: OpenTelemetry exporters send traces and logs here with no code of ours.

POST /api/otel/v1/traces   ExportTraceServiceRequest → ExportTraceServiceResponse
POST /api/otel/v1/logs     ExportLogsServiceRequest  → ExportLogsServiceResponse

Request: `Content-Type: application/x-protobuf` or `application/json` (OTLP/JSON), optionally
`Content-Encoding: gzip`, authenticated by the tenant's API key as `Authorization: Bearer <key>`
(what `OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer <key>"` sends).

Answers, in the encoding the client used (OTLP/HTTP specification):
- 200: the Export…ServiceResponse; `partial_success` counts what was rejected and says why;
- 400: the body cannot be decoded (bad protobuf, JSON, gzip or id);
- 401: no valid API key; 413: the body is over OTLP_MAX_BODY_BYTES (sent or unpacked), or it holds
  more than OTLP_REFUSE_ITEMS_PER_EXPORT spans or records;
- 415: another content type or content encoding;
- 429 with `Retry-After`: the key is over its rate limit (see `retry_after`). An export is charged
  by its work: one token on arrival, then one per OTLP_ITEMS_PER_TOKEN spans or records (and at
  least one per trace) once it is decoded;
- 503: DynamoDB is busy or unreachable (exporters retry).
Errors carry a google.rpc.Status body (`code`, `message`).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from dashboard.analytics import traces
from dashboard.api.operations import Operation
from dashboard.apikeys import services as apikeys
from dashboard.apikeys.services import scope_for_token
from dashboard.core import monitoring, otlp
from dashboard.core.errors import DashboardError, TenantBeingErased
from dashboard.core.scope import API, AccessScope
from dashboard.dynamo import metrics
from dashboard.experiments import log_records

DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
DEFAULT_ITEMS_PER_TOKEN = 10
DEFAULT_REFUSE_ITEMS = 20_000
_GRPC_CODES = {400: otlp.INVALID_ARGUMENT, 401: otlp.UNAUTHENTICATED, 413: otlp.RESOURCE_EXHAUSTED}


class Refused(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def max_body_bytes() -> int:
    return int(getattr(settings, "OTLP_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES))


def retry_after(scope: AccessScope, decision: apikeys.Decision | None = None) -> int | None:
    """Seconds the key must wait before sending again, or None to accept the export.

    The per-key API rate limit (the same one call per request as the JSON API): over it, the
    receivers answer 429 with `Retry-After`, as the OTLP specification asks.
    """
    decision = decision or apikeys.take(scope.actor_id)
    return None if decision.allowed else max(1, decision.retry_after)


def tokens_for(items: int, traces: int = 0) -> int:
    """Rate-limit tokens an export of `items` spans or records over `traces` traces costs."""
    per_token = max(1, int(getattr(settings, "OTLP_ITEMS_PER_TOKEN", DEFAULT_ITEMS_PER_TOKEN)))
    return max(1, math.ceil(items / per_token), traces)


def _span_work(message: Any) -> tuple[int, int]:
    spans = [span for rs in message.resource_spans for ss in rs.scope_spans for span in ss.spans]
    return len(spans), len({span.trace_id for span in spans})


def _log_work(message: Any) -> tuple[int, int]:
    return sum(len(sl.log_records) for rl in message.resource_logs for sl in rl.scope_logs), 0


def _rate_headers(decision: apikeys.Decision | None) -> dict[str, str]:
    if decision is None:
        return {}
    return {
        "X-RateLimit-Limit": str(decision.limit),
        "X-RateLimit-Remaining": str(decision.remaining),
        "X-RateLimit-Reset": str(decision.reset_seconds),
    }


def _authenticate(request: HttpRequest) -> AccessScope:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    try:
        scope = scope_for_token(token.strip()) if scheme.lower() == "bearer" and token else None
    except apikeys.KeyExpired as exc:  # told in the client's encoding, as every other refusal
        raise Refused(401, exc.message, {"WWW-Authenticate": "Bearer"}) from None
    except TenantBeingErased as exc:  # the tenant's erase has started: nothing of it is stored
        raise Refused(403, exc.message) from None
    if scope is None:
        raise Refused(
            401, "Send a valid API key as `Authorization: Bearer <key>`.", {"WWW-Authenticate": "Bearer"}
        )
    if scope.role != API:  # the platform's prices key reports nothing
        raise Refused(403, "This key cannot send telemetry: it manages prices only.")
    return scope


def _body(request: HttpRequest) -> bytes:
    """The request body, unpacked, never more than the bound in memory."""
    limit = max_body_bytes()
    declared = request.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Refused(413, f"The body is over {limit} bytes; send smaller batches.")
    body = request.read(limit + 1)  # not request.body: Django's own bound would answer 400
    if len(body) > limit:
        raise Refused(413, f"The body is over {limit} bytes; send smaller batches.")
    coding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if coding in ("", "identity"):
        return body
    if coding != "gzip":
        raise Refused(415, f"Content-Encoding {coding} is not accepted: send gzip or none.")
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        unpacked = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise Refused(400, f"The body is not valid gzip: {exc}.") from None
    if len(unpacked) > limit or inflater.unconsumed_tail:
        raise Refused(413, f"The unpacked body is over {limit} bytes; send smaller batches.")
    if not inflater.eof:
        raise Refused(400, "The gzip body is cut short.")
    return unpacked


def _respond(
    status: int, content: bytes, encoding: str, headers: dict[str, str] | None = None
) -> HttpResponse:
    response = HttpResponse(content, status=status, content_type=encoding)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _receiver(
    request_type: type,
    build_response: Callable[[Any], Any],
    accept: Callable[[AccessScope, Any], Any],
    work: Callable[[Any], tuple[int, int]],
    kind: str,
) -> Callable[[HttpRequest], HttpResponse]:
    @csrf_exempt  # bearer keys, not cookies, authenticate exporters: no CSRF exposure
    def view(request: HttpRequest) -> HttpResponse:
        declared = otlp.encoding_of(request.headers.get("Content-Type", ""))
        encoding = declared or otlp.JSON  # errors about the content type itself are told in JSON
        decision = None
        try:
            if request.method != "POST":
                raise Refused(405, "Use POST here.", {"Allow": "POST"})
            scope = _authenticate(request)  # first: a request without a key learns that before anything else
            metrics.attribute_to(scope.tenant_id)  # cost to serve: the exporter's tenant
            if declared is None:
                raise Refused(415, f"Send {otlp.PROTOBUF} or {otlp.JSON}.")
            decision = apikeys.take(scope.actor_id)
            wait = retry_after(scope, decision)
            if wait is not None:
                raise Refused(429, "Too many exports for this key; retry later.", {"Retry-After": str(wait)})
            try:
                message = otlp.decode(_body(request), encoding, request_type())
            except otlp.Undecodable as exc:
                raise Refused(400, str(exc)) from None
            items, trace_count = work(message)
            refuse_over = int(getattr(settings, "OTLP_REFUSE_ITEMS_PER_EXPORT", DEFAULT_REFUSE_ITEMS))
            if items > refuse_over:
                raise Refused(
                    413, f"The export holds {items} items, over {refuse_over}: send smaller batches."
                )
            charge = tokens_for(items, trace_count) - 1  # the token taken on arrival is the first
            if charge > 0:
                decision = apikeys.take(scope.actor_id, charge, count_use=False)
                if not decision.allowed:
                    raise Refused(
                        429,
                        f"This export costs {charge + 1} tokens, more than this key has left; "
                        "retry later or send smaller batches.",
                        {"Retry-After": str(max(1, decision.retry_after))},
                    )
            try:
                outcome = accept(scope, message)
            except otlp.Undecodable as exc:  # found while reading the values (AnyValue nesting)
                raise Refused(400, str(exc)) from None
            except DashboardError as exc:
                status = exc.status if exc.status != 422 else 400
                raise Refused(status, exc.message, {"Retry-After": "5"} if status == 503 else None) from None
        except Refused as refused:
            if refused.status < 500:
                monitoring.INGEST_REJECTED.labels(kind, "requests").inc()
            code = _GRPC_CODES.get(refused.status, otlp.UNAVAILABLE if refused.status >= 500 else 9)
            body = otlp.status_body(code, refused.message, encoding)
            return _respond(refused.status, body, encoding, {**_rate_headers(decision), **refused.headers})
        monitoring.INGESTED.labels(kind).inc(outcome.written)
        monitoring.INGEST_REJECTED.labels(kind, "items").inc(outcome.rejected)
        content = otlp.encode(build_response(outcome), encoding)
        return _respond(200, content, encoding, _rate_headers(decision))

    return view


def _object(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    # Unknown fields are ignored, as OTLP/HTTP asks of receivers: no additionalProperties: false; and a
    # null is protobuf's JSON for "not set", so every field may be null.
    nullable = {name: {"anyOf": [schema, {"type": "null"}]} for name, schema in properties.items()}
    return {"type": "object", "properties": nullable, **extra}


def _array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


# OTLP/JSON as the receivers decode it (protobuf's JSON mapping with OTLP's hex ids): a body this
# schema allows decodes; what it does not is a 400. 64-bit integers may come as numbers or strings.
_UINT64 = {
    "anyOf": [
        # Up to 19 digits, or 20 below 1.8e19: every uint64 today's nanosecond times need (19 digits).
        {"type": "string", "pattern": "^([0-9]{1,19}|1[0-7][0-9]{18})$"},
        {"type": "integer", "minimum": 0, "maximum": 2**53},
    ]
}
_INT64 = {
    "anyOf": [
        {"type": "string", "pattern": "^-?([0-9]{1,18}|[0-8][0-9]{18})$"},
        {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1},
    ]
}
_UINT32 = {"type": "integer", "minimum": 0, "maximum": 2**32 - 1}
_TEXT = {"type": "string"}
# Open enums: an unknown number is kept, a name (known or not, with unknown fields ignored) is accepted.
_ENUM = {
    "anyOf": [
        {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1},
        {"type": "string"},
        {"type": "boolean"},
    ]
}
_ANY_VALUE_REF = {"$ref": "#/components/schemas/OtlpAnyValue"}
_KEY_VALUE = _object({"key": _TEXT, "value": _ANY_VALUE_REF})
_VALUES = {
    "stringValue": _TEXT,
    "boolValue": {"type": "boolean"},
    "intValue": _INT64,
    "doubleValue": {"type": "number"},
    "bytesValue": {
        "type": "string",
        "pattern": "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$",
    },
    "arrayValue": _object({"values": _array(_ANY_VALUE_REF)}),
    "kvlistValue": _object({"values": _array(_KEY_VALUE)}),
}
OTLP_SCHEMAS: dict[str, Any] = {
    "OtlpAnyValue": _object(
        _VALUES,
        description="A oneof: at most one of these is set (not null); two are a 400. Unknown keys are ignored.",
        # Exactly one branch holds: one field set (the others absent or null), or none set.
        oneOf=[
            *({"properties": {name: schema}, "required": [name]} for name, schema in _VALUES.items()),
            {"properties": {name: {"type": "null"} for name in _VALUES}},
        ],
    ),
}
_ATTRIBUTES = _array(_KEY_VALUE)
_RESOURCE = _object({"attributes": _ATTRIBUTES, "droppedAttributesCount": _UINT32})
_SCOPE = _object(
    {"name": _TEXT, "version": _TEXT, "attributes": _ATTRIBUTES, "droppedAttributesCount": _UINT32}
)
_TRACE_ID = {"type": "string", "pattern": "^([0-9a-f]{32})?$"}  # empty: not set
_SPAN_ID = {"type": "string", "pattern": "^([0-9a-f]{16})?$"}
_SPAN = _object(
    {
        "traceId": _TRACE_ID,
        "spanId": _SPAN_ID,
        "parentSpanId": _SPAN_ID,
        "traceState": _TEXT,
        "flags": _UINT32,
        "name": _TEXT,
        "kind": _ENUM,
        "startTimeUnixNano": _UINT64,
        "endTimeUnixNano": _UINT64,
        "attributes": _ATTRIBUTES,
        "droppedAttributesCount": _UINT32,
        "events": _array(
            _object(
                {
                    "timeUnixNano": _UINT64,
                    "name": _TEXT,
                    "attributes": _ATTRIBUTES,
                    "droppedAttributesCount": _UINT32,
                }
            )
        ),
        "status": _object({"code": _ENUM, "message": _TEXT}),
    }
)
_LOG_RECORD = _object(
    {
        "timeUnixNano": _UINT64,
        "observedTimeUnixNano": _UINT64,
        "severityNumber": _ENUM,
        "severityText": _TEXT,
        "body": _ANY_VALUE_REF,
        "attributes": _ATTRIBUTES,
        "droppedAttributesCount": _UINT32,
        "flags": _UINT32,
        "traceId": _TRACE_ID,
        "spanId": _SPAN_ID,
        "eventName": _TEXT,
    }
)
OTLP_SCHEMAS["ExportTraceServiceRequest"] = _object(
    {
        "resourceSpans": _array(
            _object(
                {
                    "resource": _RESOURCE,
                    "schemaUrl": _TEXT,
                    "scopeSpans": _array(
                        _object({"scope": _SCOPE, "schemaUrl": _TEXT, "spans": _array(_SPAN)})
                    ),
                }
            )
        )
    },
    description="OTLP/JSON ExportTraceServiceRequest (hex trace and span ids, integer enums).",
)
OTLP_SCHEMAS["ExportLogsServiceRequest"] = _object(
    {
        "resourceLogs": _array(
            _object(
                {
                    "resource": _RESOURCE,
                    "schemaUrl": _TEXT,
                    "scopeLogs": _array(
                        _object({"scope": _SCOPE, "schemaUrl": _TEXT, "logRecords": _array(_LOG_RECORD)})
                    ),
                }
            )
        )
    },
    description="OTLP/JSON ExportLogsServiceRequest; a record reaches a run when its attributes or resource "
    "carry `diatonic.experiment_id` and `diatonic.run_id`.",
)
OTLP_EXAMPLES = {
    "traces": {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "support-agent"}}]
                },
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "5b8efff798038103d269b633813fc60c",
                                "spanId": "eee19b7ec3c1b174",
                                "name": "invoke_agent support",
                                "startTimeUnixNano": "1764504000000000000",
                                "endTimeUnixNano": "1764504001800000000",
                                "attributes": [
                                    {"key": "gen_ai.operation.name", "value": {"stringValue": "invoke_agent"}}
                                ],
                            }
                        ]
                    }
                ],
            }
        ]
    },
    "logs": {
        "resourceLogs": [
            {
                "resource": {
                    "attributes": [
                        {"key": "diatonic.experiment_id", "value": {"stringValue": "exp-lr-sweep"}},
                        {"key": "diatonic.run_id", "value": {"stringValue": "run-1"}},
                    ]
                },
                "scopeLogs": [
                    {
                        "logRecords": [
                            {
                                "timeUnixNano": "1764504000000000000",
                                "severityNumber": 9,
                                "body": {"stringValue": "epoch 1"},
                            }
                        ]
                    }
                ],
            }
        ]
    },
}


def otlp_json_schema(signal: str, message: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{message}"}


def otlp_operation(signal: str, message: str, rejected: str) -> Operation:
    from dashboard.api.operations import ALLOW, RATE_HEADERS, RETRY_AFTER  # noqa: PLC0415

    service = message.removesuffix("Request")
    status_schema = {
        "type": "object",
        "description": "google.rpc.Status (protobuf, or JSON when the request was JSON).",
        "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
    }
    bodies = {
        otlp.PROTOBUF: {
            "schema": {"type": "string", "format": "binary", "description": f"A protobuf {message}."}
        },
        otlp.JSON: {"schema": otlp_json_schema(signal, message), "example": OTLP_EXAMPLES[signal]},
    }

    def answer(description: str, schema: dict[str, Any], headers: dict[str, Any]) -> dict[str, Any]:
        return {
            "description": description,
            "headers": headers,
            "content": {
                otlp.PROTOBUF: {"schema": {"type": "string", "format": "binary"}},
                otlp.JSON: {"schema": schema},
            },
        }

    partial = {
        "type": "object",
        "description": f"{service}Response: `partialSuccess` counts the rejected {rejected} and says why.",
        "properties": {"partialSuccess": {"type": "object"}},
    }
    errors = {
        "400": "The body cannot be decoded (protobuf, JSON, gzip or an id).",
        "401": "No valid API key.",
        "403": "The key manages prices only, or its tenant is being erased: nothing is stored.",
        "413": "The body (sent or unpacked) is over the bound, or holds absurdly many items.",
        "415": f"Another content type or content encoding: send {otlp.PROTOBUF} or {otlp.JSON}, gzip or none.",
        "429": "This key is over its rate limit: retry after `Retry-After` seconds.",
        "503": "DynamoDB is busy or unreachable: retry after `Retry-After` seconds.",
    }
    responses = {"200": answer("Accepted (all, or partly: see partialSuccess).", partial, RATE_HEADERS)}
    for status, description in errors.items():
        headers = {} if status in ("401", "403", "415") else dict(RATE_HEADERS)
        if status in ("429", "503"):
            headers.update(RETRY_AFTER)
        responses[status] = answer(description, status_schema, headers)
    responses["405"] = answer("Use POST.", status_schema, ALLOW)
    return Operation(
        f"Receive OTLP {signal}",
        {},
        raw={
            "operationId": f"otel_{signal}_post",
            "summary": f"OTLP/HTTP {signal} receiver",
            "description": "What an OpenTelemetry exporter sends (OTEL_EXPORTER_OTLP_ENDPOINT=<site>/api/otel); "
            "answered in the encoding of the request. `Content-Encoding: gzip` is accepted. Spans and records "
            "sent twice count once.",
            "tags": ["opentelemetry"],
            "security": [{"bearer": []}],
            "requestBody": {"required": True, "content": bodies},
            "responses": responses,
        },
        schemas=OTLP_SCHEMAS,  # the receivers' bodies are protobuf messages, not models
    )


def _trace_response(outcome: traces.Acceptance) -> trace_service_pb2.ExportTraceServiceResponse:
    response = trace_service_pb2.ExportTraceServiceResponse()
    if outcome.rejected:
        response.partial_success.rejected_spans = outcome.rejected
        response.partial_success.error_message = outcome.message
    return response


def _logs_response(outcome: log_records.Acceptance) -> logs_service_pb2.ExportLogsServiceResponse:
    response = logs_service_pb2.ExportLogsServiceResponse()
    if outcome.rejected:
        response.partial_success.rejected_log_records = outcome.rejected
        response.partial_success.error_message = outcome.message
    return response


traces_endpoint = _receiver(
    trace_service_pb2.ExportTraceServiceRequest, _trace_response, traces.accept, _span_work, "spans"
)
logs_endpoint = _receiver(
    logs_service_pb2.ExportLogsServiceRequest, _logs_response, log_records.accept, _log_work, "log_records"
)
traces_endpoint.__name__, logs_endpoint.__name__ = "otel_traces", "otel_logs"
# Their place in /api/openapi.json: protobuf bodies are not JSON Schema, so the operations are written
# out from the same facts the receivers apply (content types, statuses, headers).
traces_endpoint.operations = {"POST": otlp_operation("traces", "ExportTraceServiceRequest", "spans")}
logs_endpoint.operations = {"POST": otlp_operation("logs", "ExportLogsServiceRequest", "log_records")}

urlpatterns = [
    path("otel/v1/traces", traces_endpoint, name="otel_traces"),
    path("otel/v1/logs", logs_endpoint, name="otel_logs"),
]
