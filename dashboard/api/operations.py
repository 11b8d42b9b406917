"""The operation vocabulary every endpoint speaks: one description per API operation, from which both
the request checks and /api/openapi.json (`api.openapi`) come.

An `Operation` names its query and body models (pydantic): `api_view` validates every request with
them before the view runs, and `api.openapi.document()` turns the same models into OpenAPI 3.1.
Responses are `*Out` models too: a view returns one (or `auth.created(model)`), `api_view` serialises
it through the model and refuses a model the operation does not document for that status, so the
document and the answer cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dashboard.core.inputs import Strict, error_fields, validate  # noqa: F401 — the API speaks them


class ErrorDetail(BaseModel):
    code: str = Field(examples=["invalid"])
    message: str = Field(examples=["The run is invalid; nothing was recorded."])
    fields: dict[str, str] = Field(
        default_factory=dict,
        description="Each problem by its JSON path, in one format: `runs[3].tokens_in`, "
        "`definition.nodes[2].type`, `name`.",
        examples=[{"runs[3].tokens_in": "must be ≥ 0"}],
    )


class Error(BaseModel):
    """Every API error, whatever its status."""

    error: ErrorDetail


class Query(BaseModel):
    """Query parameters: text on the wire, converted (`limit=20` is a number)."""

    model_config = ConfigDict(extra="ignore")


@dataclass
class Operation:
    summary: str
    responses: dict[int, Any]  # status → a response model, None (no body) or a description
    description: str = ""
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    body_optional: bool = False
    body_example: Any = None
    tags: list[str] = field(default_factory=list)
    # Operations that are not JSON (the OTLP receivers): their OpenAPI text, given as it is.
    raw: dict[str, Any] | None = None
    # The kinds of key that may call it: a tenant's key (`api`), and for the price endpoints the
    # platform's prices key (`prices_key`), which every other operation refuses with 403.
    keys: tuple[str, ...] = ("api",)
    # Component schemas the operation's raw text refers to (`#/components/schemas/<name>`).
    schemas: dict[str, Any] = field(default_factory=dict)


# Statuses any authenticated JSON operation may answer, besides its own.
COMMON = {
    400: "A query value no endpoint accepts (control characters, too long).",
    401: "No valid API key: send `Authorization: Bearer <key>`.",
    403: (
        "This kind of key may not use this endpoint (the prices key on a tenant's endpoint, or the reverse); "
        "or the key's tenant is being erased (`tenant_erasing`)."
    ),
    404: "An id in the path, query or body is not one of this key's tenant (nor is another tenant's).",
    405: "Another method: the `Allow` header lists the ones this path answers.",
    429: "This key is over its rate limit: retry after `Retry-After` seconds.",
    503: "DynamoDB is busy or unreachable; retry later.",
}
WITH_BODY = {
    400: "The body is not JSON (or not UTF-8, or nests deeper than 32 levels).",
    413: "The body is larger than the API accepts.",
    415: "The body is not `application/json`.",
    422: "Valid JSON that breaks a rule; `fields` names each problem by its path.",
}
WITH_QUERY = {422: "A query parameter is not valid (or a `cursor` is not one we signed); `fields` names it."}
WITH_PATH = {404: "No such item for this key's tenant (another tenant's ids are not found either)."}


def query_values(request) -> dict[str, str]:
    return {name: request.GET.get(name) for name in request.GET}


RATE_HEADERS = {
    "X-RateLimit-Limit": {
        "description": "Requests this key may send per minute.",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Remaining": {
        "description": "Requests left in the current window.",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Reset": {
        "description": "Seconds until the allowance is full again.",
        "schema": {"type": "integer"},
    },
}
RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}
}
ALLOW = {"Allow": {"description": "The methods this path answers.", "schema": {"type": "string"}}}
