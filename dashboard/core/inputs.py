"""Input cleaning at the edge: JSON text bounded before parsing, then every key and value checked.

Pure functions (no request, no DynamoDB), so the JSON API and the forms that take JSON
(`definition`, `parameters`, `config_json`) clean the same way. Problems raise the project's
errors with `fields` keyed by a path in one format: `runs[3].tokens_in`, `definition.nodes[2].id`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from dashboard.core.errors import DashboardError, ValidationFailed

MAX_DEPTH = 32  # deeper than any document we store; far below Python's recursion limit
MAX_ERRORS = 20
# Lone surrogates cannot be encoded as UTF-8 (every page that renders them would fail); NUL is
# never meaningful text and some tools truncate at it.
_BAD_CHARS = re.compile(r"[\x00\ud800-\udfff]")
# A JSON string literal (escapes included); removed before counting brackets, which may sit in strings.
_STRING_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


class BadRequest(DashboardError):
    status = 400
    code = "bad_request"


class PayloadTooLarge(DashboardError):
    status = 413
    code = "too_large"


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text, or None when it can."""
    match = _BAD_CHARS.search(value)
    if match is None:
        return None
    if match.group() == "\x00":
        return "must not contain the NUL character."
    return "must be valid Unicode (it holds a lone surrogate)."


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest in `text`, counted without parsing (so without recursion)."""
    depth = deepest = 0
    for match in _BRACKETS.finditer(_STRING_LITERAL.sub("", text)):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _refuse_constant(name: str) -> Any:
    raise ValidationFailed(
        f"{name} is not a JSON number; send a finite number.", {"body": f"{name} is not allowed"}
    )


def join_path(prefix: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    return f"{prefix}.{key}" if prefix else key


def check_json_value(value: Any, prefix: str = "") -> dict[str, str]:
    """{path: problem} for every string (key or value) that is not clean text and every
    number that is not finite; walked with an explicit stack, so depth cannot exhaust recursion."""
    errors: dict[str, str] = {}
    stack: list[tuple[str, Any]] = [(prefix, value)]
    while stack and len(errors) < MAX_ERRORS:
        path, item = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                errors[path or "body"] = problem
        elif isinstance(item, float):
            if not math.isfinite(item):
                errors[path or "body"] = "must be a finite number."
        elif isinstance(item, dict):
            for key, child in item.items():
                key = str(key)
                child_path = join_path(path, key)
                problem = text_problem(key)
                if problem:
                    errors[child_path.encode("utf-8", "backslashreplace").decode()] = f"the key {problem}"
                    continue
                stack.append((child_path, child))
        elif isinstance(item, list | tuple):
            stack.extend((join_path(path, index), child) for index, child in enumerate(item))
    return errors


def whole_or_float(literal: str) -> int | float:
    """A JSON number with a fraction or exponent: an int when it is whole (`561.0`, `1e3`).

    JSON Schema's `integer` is any number without a fractional part, so a client generated from the
    API's document may send `561.0` for a whole number; the models, strict about types, take it as
    the int it is. Magnitudes past 2**63 stay floats (no whole number the API takes is that large)."""
    value = float(literal)
    return int(value) if value.is_integer() and abs(value) < 2**63 else value


def clean_json_text(
    text: str | bytes,
    *,
    max_bytes: int | None = None,
    max_depth: int = MAX_DEPTH,
    field: str = "body",
    whole_numbers: bool = False,
) -> Any:
    """Parse JSON text that a client sent, or raise an error naming what is wrong:
    413 too large, 400 not JSON or nested deeper than `max_depth`, 422 NaN/Infinity or unclean text.
    `whole_numbers`: numbers written with a zero fraction (`2.0`) come back as ints."""
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", "surrogatepass"))
    if max_bytes is not None and size > max_bytes:
        raise PayloadTooLarge(
            f"The {field} is {size:,} bytes; at most {max_bytes:,} are accepted.", {field: "too large"}
        )
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest(f"The {field} is not UTF-8 text.", {field: "invalid UTF-8"}) from None
    depth = json_depth(text)
    if depth > max_depth:
        raise BadRequest(
            f"The {field} nests {depth} levels deep; at most {max_depth} are accepted.",
            {field: f"nested deeper than {max_depth} levels"},
        )
    try:
        value = json.loads(
            text, parse_constant=_refuse_constant, parse_float=whole_or_float if whole_numbers else float
        )
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, {field: exc.fields["body"]}) from None
    except (ValueError, RecursionError) as exc:
        if field == "body":
            raise BadRequest(f"The body is not valid JSON: {exc}.", {"body": "invalid JSON"}) from None
        message = f"Not valid JSON: {exc}."  # shown next to the form field it belongs to
        raise BadRequest(message, {field: message}) from None
    errors = check_json_value(value, "" if field == "body" else field)
    if errors:
        raise ValidationFailed("Some values cannot be stored: " + _summary(errors), errors)
    return value


def _summary(errors: dict[str, str]) -> str:
    path, problem = next(iter(errors.items()))
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{path} {problem}{more}"


LIMIT_PATTERN = re.compile(r"[0-9]{1,6}")


def parse_limit(raw: str | None, default: int, most: int, field: str = "limit") -> int:
    """A page size from a query string: ASCII digits only (`²` passes str.isdigit, not int)."""
    if raw is None or raw == "":
        return default
    if not LIMIT_PATTERN.fullmatch(raw) or not 1 <= int(raw) <= most:
        raise ValidationFailed(f"`{field}` must be a whole number from 1 to {most}.", {field: f"1–{most}"})
    return int(raw)


def text_field(
    data: Mapping[str, Any],
    field: str,
    errors: dict[str, str],
    *,
    required: bool = True,
    max_length: int = 200,
) -> str:
    """`data[field]` stripped; a problem goes into `errors[field]` and an empty string comes back."""
    value = data.get(field)
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[field] = "Must be text."
        return ""
    value = value.strip()
    problem = text_problem(value)
    if problem:
        errors[field] = problem
        return ""
    if required and not value:
        errors[field] = "This field is required."
    elif len(value) > max_length:
        errors[field] = f"At most {max_length} characters (it has {len(value)})."
    return value


# --- typed inputs: one pydantic model describes a body for the API's document, its check and the
# services that take it; its errors speak the project's paths and words ------------------------


class Strict(BaseModel):
    """A JSON body: types as JSON has them (no "1" for 1), other keys refused."""

    model_config = ConfigDict(strict=True, extra="forbid")


# Messages for patterns, by the pattern (an area's id rules): pydantic's own names the regex.
PATTERN_MESSAGES: dict[str, str] = {}


# pydantic's messages in the project's words where they differ.
_MESSAGES = {
    "missing": "This field is required.",
    "extra_forbidden": "Unknown field: remove it.",
    "float_type": "must be a number.",
    "finite_number": "must be a finite number.",
    "int_type": "must be a whole number.",
    "string_type": "must be text.",
    "bool_type": "must be true or false.",
    "dict_type": "must be an object.",
    "model_type": "must be an object.",
    "model_attributes_type": "must be an object.",
    "list_type": "must be a list.",
}


def _segment(part: str | int) -> str | int | None:
    """A location part as a path segment; None for the parts that name a shape, not a place.

    Bodies that take several shapes tag them `~one` / `~batch` (no segment) or `~<name>` (the
    segment a bare list stands for: `~lines` makes `[1].severity` read `lines[1].severity`). A bad
    key of an object is named by the key itself (`metrics.a b`, not `metrics.a b.[key]`)."""
    if isinstance(part, str) and part.startswith("~"):
        name = part[1:]
        return None if name in ("one", "batch") else name
    if part in ("function-after", "function-before", "function-wrap", "[key]", ""):
        return None
    return part


def error_fields(exc: ValidationError, prefix: str = "") -> dict[str, str]:
    """pydantic's errors keyed by the project's path format (`runs[3].tokens_in`)."""
    fields: dict[str, str] = {}
    for item in exc.errors(include_url=False):
        path = prefix
        for part in item["loc"]:
            segment = _segment(part)
            if segment is not None:
                path = join_path(path, segment)
        message = _MESSAGES.get(item["type"], item["msg"])
        if item["type"] == "string_pattern_mismatch":
            message = PATTERN_MESSAGES.get((item.get("ctx") or {}).get("pattern", ""), message)
        elif item["type"] == "string_too_short" and (item.get("ctx") or {}).get("min_length") == 1:
            message = _MESSAGES["missing"]  # empty (or only spaces, where text is trimmed)
        fields.setdefault(path or "body", message)
    return fields


_ITEM = re.compile(r"^(\w*)\[(\d+)\]")


def validate(model: type[BaseModel], data: Any, what: str) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = error_fields(exc)
        path, problem = next(iter(fields.items()))
        items = {match.group(2) for match in map(_ITEM.match, fields) if match}
        batch = next((value for key, value in _batch_of(data) if key == path.split("[")[0]), None)
        if items and batch is not None:
            message = f"{len(items)} of {len(batch)} items are invalid; nothing was written. First: {path}: {problem}"
        else:
            message = f"The {what} is not valid; nothing was written. {path}: {problem}"
        raise ValidationFailed(message, fields) from None


def _batch_of(data: Any) -> list[tuple[str, list]]:
    if isinstance(data, list):
        return [("lines", data), ("", data)]
    if isinstance(data, dict):
        return [(key, value) for key, value in data.items() if isinstance(value, list)]
    return []
