"""/api/openapi.json: the OpenAPI 3.1 document of every operation under /api/, built from the
operations (`api.operations`) the views declare, found by walking the site's URLconf."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from dashboard.api.operations import (
    ALLOW,
    COMMON,
    RATE_HEADERS,
    RETRY_AFTER,
    WITH_BODY,
    WITH_PATH,
    WITH_QUERY,
    Error,
    Operation,
)
from dashboard.core.converters import KeyConverter
from dashboard.core.middleware import query_value_bytes

_NO_CONTROL_CHARACTERS = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f]*$"
_CONVERTER = re.compile(r"<(?:(?P<kind>[a-z]+):)?(?P<name>\w+)>")
_PATTERNS = {"key": "^" + KeyConverter.regex + "$", "str": "^[^/]+$"}


def _routes(patterns, prefix: str = ""):
    from django.urls import URLPattern, URLResolver

    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route, entry.callback


def api_routes() -> list[tuple[str, Any]]:
    """(route under /api/, view) for every URL pattern of the API, documented or not: the site's
    URLconf, walked from its root (the document needs no import of the API's own modules)."""
    from django.urls import get_resolver

    return [
        (route.removeprefix("api/"), view)
        for route, view in _routes(get_resolver().url_patterns)
        if route.startswith("api/")
    ]


def _path_of(route: str) -> tuple[str, list[dict[str, Any]]]:
    parameters = []
    for match in _CONVERTER.finditer(route):
        parameters.append(
            {
                "name": match["name"],
                "in": "path",
                "required": True,
                "schema": {"type": "string", "pattern": _PATTERNS.get(match["kind"] or "str", "^[^/]+$")},
            }
        )
    return "/api/" + _CONVERTER.sub(lambda m: "{" + m["name"] + "}", route), parameters


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    parameters = []
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        description = prop.pop("description", "")
        prop.pop("title", None)
        if "anyOf" in prop:  # `x | None = None`: absent is the None; the value itself has the other type
            kinds = [item for item in prop.pop("anyOf") if item.get("type") != "null"]
            prop = {**kinds[0], **{k: v for k, v in prop.items() if k != "default"}}
        prop.pop("default", None)
        if prop.get("type") == "string" and "pattern" not in prop and "enum" not in prop:
            # What the edge refuses in any query value (dashboard.core.middleware.query_problem), said here.
            prop["pattern"] = _NO_CONTROL_CHARACTERS
            most = query_value_bytes(name)
            prop["maxLength"] = min(prop.get("maxLength", most), most // 4)  # ≤ 4 bytes a character
        parameters.append(
            {
                "name": name,
                "in": "query",
                "required": name in required,
                "description": description,
                "schema": prop,
            }
        )
    return parameters


def _response(status: int, spec: Any, refs: dict, headers: dict[str, Any]) -> dict[str, Any]:
    if isinstance(spec, type) and issubclass(spec, BaseModel):
        body = {"description": spec.__doc__.strip() if spec.__doc__ else str(status)}
        body["content"] = {"application/json": {"schema": refs[(spec, "serialization")]}}
    elif spec is None:
        body = {"description": "No content."}
    else:
        body = {"description": spec}
        if status >= 400:
            body["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    if headers:
        body["headers"] = headers
    return body


def _operation_document(method: str, op: Operation, path_parameters, refs, view_name: str) -> dict[str, Any]:
    if op.raw is not None:
        return op.raw
    statuses: dict[int, Any] = {**COMMON}
    if path_parameters:
        statuses.update(WITH_PATH)
    if op.query is not None:
        statuses.update(WITH_QUERY)
    if op.body is not None:
        statuses.update(WITH_BODY)
    statuses.update(op.responses)
    responses = {}
    for status, spec in sorted(statuses.items()):
        headers = dict(RATE_HEADERS) if status != 401 else {}
        if status == 429:
            headers.update(RETRY_AFTER)
        if status == 405:
            headers.update(ALLOW)
        responses[str(status)] = _response(status, spec, refs, headers)
    document: dict[str, Any] = {
        "operationId": f"{view_name}_{method.lower()}",
        "summary": op.summary,
        "tags": op.tags,
        "security": [{"bearer": []}],
        "responses": responses,
    }
    if op.description:
        document["description"] = op.description
    parameters = list(path_parameters)
    if op.query is not None:
        parameters += _query_parameters(op.query)
    if parameters:
        document["parameters"] = parameters
    if op.body is not None:
        media: dict[str, Any] = {"schema": refs[(op.body, "validation")]}
        if op.body_example is not None:
            media["example"] = op.body_example
        document["requestBody"] = {"required": not op.body_optional, "content": {"application/json": media}}
    return document


# What the edge refuses in every JSON body (dashboard.core.inputs.check_json_value: NUL, at any depth, in
# keys and values), said in every request body schema, so a client built from the document cannot send
# it. Added here, once, rather than to each model's field. Lone surrogates are refused too, but JSON
# Schema's regex dialect has no portable way to name them (schemathesis' engine misreads a
# `\\ud800-\\udfff` range): they are not valid Unicode text (RFC 7493), which the document says.
CLEAN_TEXT = "^[^\\x00]*$"
CLEAN_JSON_REF = {"$ref": "#/components/schemas/CleanJson"}
CLEAN_JSON = {
    "description": "Any JSON value whose strings and keys are valid Unicode text without NUL.",
    "anyOf": [
        {"type": ["null", "boolean", "number"]},
        {"type": "string", "pattern": CLEAN_TEXT},
        {"type": "array", "items": CLEAN_JSON_REF},
        {"type": "object", "propertyNames": {"pattern": CLEAN_TEXT}, "additionalProperties": CLEAN_JSON_REF},
    ],
}


def _clean_schema(schema: Any, schemas: dict[str, Any], seen: set[str]) -> Any:
    """`schema` with the edge's text rule stated on every string, key and free-form value in it."""
    if not isinstance(schema, dict):
        return schema
    ref = schema.get("$ref", "")
    if ref:
        name = ref.rsplit("/", 1)[-1]
        if name not in seen and name in schemas:
            seen.add(name)
            schemas[name] = _clean_schema(schemas[name], schemas, seen)
        return schema
    if not schema or set(schema) <= {"title", "description", "default", "examples"}:  # Any
        return {**schema, **CLEAN_JSON_REF}
    out = dict(schema)
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        if key in out:
            out[key] = [_clean_schema(item, schemas, seen) for item in out[key]]
    if isinstance(out.get("items"), dict):
        out["items"] = _clean_schema(out["items"], schemas, seen)
    if "properties" in out:
        out["properties"] = {
            name: _clean_schema(item, schemas, seen) for name, item in out["properties"].items()
        }
    if "patternProperties" in out:
        out["patternProperties"] = {
            name: _clean_schema(item, schemas, seen) for name, item in out["patternProperties"].items()
        }
    kind = out.get("type")
    if kind == "string" and "enum" not in out and "const" not in out and "format" not in out:
        if "pattern" in out:
            out["allOf"] = [*out.get("allOf", []), {"pattern": CLEAN_TEXT}]
        else:
            out["pattern"] = CLEAN_TEXT
    if kind == "object" and out.get("additionalProperties", True) is not False:
        out["propertyNames"] = {"pattern": CLEAN_TEXT}
        extra = out.get("additionalProperties", True)
        out["additionalProperties"] = CLEAN_JSON_REF if extra is True else _clean_schema(extra, schemas, seen)
    return out


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of every operation under /api/."""
    operations = []
    for route, view in api_routes():
        for method, op in getattr(view, "operations", {}).items():
            operations.append((route, view, method, op))
    models: list[tuple[type[BaseModel], str]] = [(Error, "serialization")]
    for _, _, _, op in operations:
        if op.body is not None:
            models.append((op.body, "validation"))
        for spec in op.responses.values():
            if isinstance(spec, type) and issubclass(spec, BaseModel):
                models.append((spec, "serialization"))
    models = list(dict.fromkeys(models))
    refs, definitions = models_json_schema(models, ref_template="#/components/schemas/{model}")
    paths: dict[str, dict[str, Any]] = {}
    for route, view, method, op in operations:
        path, path_parameters = _path_of(route)
        name = getattr(view, "__name__", "operation")
        paths.setdefault(path, {})[method.lower()] = _operation_document(
            method, op, path_parameters, refs, name
        )
    schemas = {**definitions.get("$defs", {}), "CleanJson": CLEAN_JSON}
    seen: set[str] = set()
    for op in (op for _, _, _, op in operations if op.body is not None):
        _clean_schema(refs[(op.body, "validation")], schemas, seen)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Diatonic AI Lab dashboard API",
            "version": "1",
            "description": (
                "Agents and training jobs report here with the tenant's API key. Every error is "
                '`{"error": {"code", "message", "fields"}}`. Lists are paged: pass the `next_cursor` '
                "of one page as `cursor` to get the next (null on the last page). Every authenticated "
                "answer carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`. "
                "Text in a JSON body, keys included, is valid Unicode (no lone surrogate) without NUL; "
                "a whole number may be written `2.0`."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The tenant's API key (`dtk.…`), from the API keys page.",
                }
            },
            # the OTLP receivers' bodies are protobuf messages, not models: their operations carry them
            "schemas": {
                **schemas,
                **{name: value for _, _, _, op in operations for name, value in op.schemas.items()},
            },
        },
    }


def body_summary(operation: dict[str, Any], document: dict[str, Any]) -> dict[str, Any] | None:
    """The request body of an operation as the docs page shows it: media types, fields, an example."""
    import json

    body = operation.get("requestBody")
    if not body:
        return None
    media_types = list(body["content"])
    first = body["content"][media_types[0]]
    schema = first.get("schema", {})
    ref = schema.get("$ref", "")
    name = ref.rsplit("/", 1)[-1] if ref else ""
    resolved = document["components"]["schemas"].get(name, schema)
    fields = [
        {
            "name": key,
            "required": key in resolved.get("required", []),
            "description": value.get("description", ""),
        }
        for key, value in resolved.get("properties", {}).items()
    ]
    example = first.get("example")
    return {
        "media_types": media_types,
        "schema": name,
        "description": resolved.get("description", body.get("description", "")),
        "fields": fields,
        "example": json.dumps(example, indent=2, ensure_ascii=False) if example is not None else "",
    }
