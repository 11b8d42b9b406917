"""OTLP/HTTP wire formats shared by the trace and log receivers: decoding, encoding, attribute values.

Both encodings of the OTLP specification (opentelemetry.io/docs/specs/otlp/#otlphttp):
- `application/x-protobuf`: the binary protobuf message;
- `application/json`: protobuf's JSON mapping with OTLP's two differences: trace and span ids are
  hex strings (not base64) and enum values are integers (names are accepted too). Unknown fields are
  ignored, as the specification asks of receivers.

Errors are google.rpc.Status messages in the client's encoding (`code`, `message`). The Status message
is three fields; it is written by hand here so the runtime needs only `opentelemetry-proto`.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message

from dashboard.core.inputs import json_depth

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
ENCODINGS = (PROTOBUF, JSON)

# JSON keys whose values are hex ids in OTLP/JSON (base64 in protobuf's own JSON mapping).
_ID_KEYS = {"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"}

# google.rpc.Code values used in error bodies.
INVALID_ARGUMENT = 3
UNAUTHENTICATED = 16
RESOURCE_EXHAUSTED = 8
UNAVAILABLE = 14


# The deepest nesting of arrays and objects an OTLP/JSON body may have: a span attribute sits at depth
# 9 (resourceSpans[{scopeSpans[{spans[{attributes[{value{), each nested AnyValue adds 4. Deeper bodies
# are refused before parsing (the parsers recurse per level: a 1 KB body could exhaust the stack).
MAX_JSON_DEPTH = 64
# How deeply AnyValues (arrays, key-value lists) may nest inside one another, in either encoding.
MAX_VALUE_DEPTH = 12


class Undecodable(ValueError):
    """The body is not a message of the expected type in the declared encoding."""


def clean(text: str) -> str:
    """Text from a client without the NUL character (never meaningful; some tools cut text at it)."""
    return text.replace("\x00", "") if "\x00" in text else text


def encoding_of(content_type: str) -> str | None:
    """PROTOBUF, JSON, or None for a content type OTLP/HTTP does not define."""
    media = content_type.split(";")[0].strip().lower()
    return media if media in ENCODINGS else None


def _hex_ids_to_base64(node: Any) -> Any:
    if isinstance(node, dict):
        converted = {}
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                try:
                    value = base64.b64encode(bytes.fromhex(value)).decode()
                except ValueError:
                    raise Undecodable(f"{key} must be a hex string, not {value[:40]!r}.") from None
            converted[key] = _hex_ids_to_base64(value)
        return converted
    if isinstance(node, list):
        return [_hex_ids_to_base64(item) for item in node]
    return node


def decode(body: bytes, encoding: str, message: Message) -> Message:
    """Fill `message` (an empty instance of the request type) from the body, or raise Undecodable."""
    if encoding == PROTOBUF:
        try:
            message.ParseFromString(body)
        except (DecodeError, RuntimeWarning, ValueError) as exc:
            raise Undecodable(f"The body is not a valid protobuf {message.DESCRIPTOR.name}: {exc}.") from None
        return message
    try:
        text = body.decode()
    except UnicodeDecodeError as exc:
        raise Undecodable(f"The body is not valid JSON: {exc}.") from None
    if json_depth(text) > MAX_JSON_DEPTH:
        raise Undecodable(f"The JSON nests deeper than {MAX_JSON_DEPTH} levels.")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise Undecodable(f"The body is not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise Undecodable(f"The body must be a JSON object ({message.DESCRIPTOR.name}).")
    try:
        json_format.ParseDict(_hex_ids_to_base64(data), message, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError, binascii.Error, RecursionError) as exc:
        raise Undecodable(f"The body is not a valid OTLP/JSON {message.DESCRIPTOR.name}: {exc}.") from None
    return message


def encode(message: Message, encoding: str) -> bytes:
    """The message in the client's encoding (JSON uses OTLP's lowerCamelCase field names)."""
    if encoding == PROTOBUF:
        return message.SerializeToString()
    return json.dumps(json_format.MessageToDict(message)).encode()


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def status_body(code: int, message: str, encoding: str) -> bytes:
    """A google.rpc.Status: field 1 `code` (int32), field 2 `message` (string)."""
    if encoding == JSON:
        return json.dumps({"code": code, "message": message}).encode()
    text = message.encode()
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text


def any_value(value: Any, depth: int = 0) -> Any:
    """An AnyValue as plain Python (bytes as hex, maps as dicts, arrays as lists, absent as None).

    Raises Undecodable when values nest deeper than MAX_VALUE_DEPTH (protobuf bodies are not
    bounded by the JSON check)."""
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which in ("array_value", "kvlist_value") and depth >= MAX_VALUE_DEPTH:
        raise Undecodable(f"Attribute values nest deeper than {MAX_VALUE_DEPTH} levels.")
    if which == "array_value":
        return [any_value(item, depth + 1) for item in value.array_value.values]
    if which == "kvlist_value":
        return attributes(value.kvlist_value.values, depth + 1)
    if which == "string_value":
        return clean(value.string_value)
    if which == "bytes_value":
        return value.bytes_value.hex()
    if which == "double_value" and not math.isfinite(value.double_value):
        return str(value.double_value)  # DynamoDB numbers have no NaN or infinity: keep them as text
    return getattr(value, which)


def attributes(key_values: Any, depth: int = 0) -> dict[str, Any]:
    """Repeated KeyValue as a dict (a key sent twice keeps its last value; NUL removed from keys)."""
    return {clean(item.key): any_value(item.value, depth) for item in key_values}


def as_text(value: Any) -> str:
    """A value shown as text: strings as they are, anything else as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, separators=(",", ":"))


@dataclass
class Acceptance:
    """What an export did not keep: a count and the reasons (OTLP's partial success)."""

    what: str = "item"  # "span", "log record": how the message names what was rejected
    rejected: int = 0
    reasons: Counter = field(default_factory=Counter)
    written: int = 0

    def reject(self, reason: str, count: int = 1) -> None:
        self.rejected += count
        self.reasons[reason] += count

    @property
    def message(self) -> str:
        if not self.rejected:
            return ""
        parts = [f"{reason} ({count})" for reason, count in self.reasons.most_common()]
        return f"{self.rejected} {self.what}(s) rejected: " + "; ".join(parts)
