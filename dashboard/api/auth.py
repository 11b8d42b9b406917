"""Bearer-key authentication and JSON plumbing shared by every endpoint of the JSON API."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from pydantic import BaseModel

from dashboard.api.operations import Operation, query_values, validate
from dashboard.apikeys import services as apikeys
from dashboard.apikeys.services import scope_for_token
from dashboard.core import monitoring
from dashboard.core.errors import DashboardError
from dashboard.core.inputs import PayloadTooLarge, clean_json_text
from dashboard.core.scope import PRICES_KEY
from dashboard.dynamo import metrics
from dashboard.dynamo.paging import BadCursor

_JSON_TYPE = re.compile(r"^application/([\w.+-]+\+)?json$")


class UnsupportedMediaType(DashboardError):
    status = 415
    code = "unsupported_media_type"


def json_error(status: int, code: str, message: str, fields: dict[str, Any] | None = None) -> JsonResponse:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields  # services and models name paths in the API's one format
    return JsonResponse({"error": error}, status=status)


def read_json(request: HttpRequest) -> Any:
    """The request body as clean JSON, or a DashboardError that names what is wrong with it.

    The one reader of every endpoint: size (413), nesting (400, checked before parsing), NaN and
    Infinity (422), lone surrogates and NUL in any key or string (422 naming the path).
    """
    if hasattr(request, "_api_json"):
        return request._api_json
    most = settings.API_MAX_BODY_BYTES
    content_type = request.content_type or ""
    if request.headers.get("Content-Type") and not _JSON_TYPE.match(content_type.lower()):
        raise UnsupportedMediaType(
            f"Send the body as application/json (not {content_type}).", {"body": "not application/json"}
        )
    try:
        body = request.body
    except RequestDataTooBig:
        raise PayloadTooLarge(f"The body is larger than {most:,} bytes.", {"body": "too large"}) from None
    if not body:
        raise DashboardError("The request needs a JSON body.", {"body": "empty"})
    request._api_json = clean_json_text(body, max_bytes=most, whole_numbers=True)
    return request._api_json


@dataclass(frozen=True)
class Answer:
    """A view's answer: a response model of its operation, and its status."""

    body: BaseModel
    status: int = 200

    def response(self, op: Operation) -> JsonResponse:
        """The body serialised by its model; a model the operation does not document for this status
        is a bug in the view, not in the request (so the document and the answers cannot drift)."""
        documented = op.responses.get(self.status)
        if not (isinstance(documented, type) and isinstance(self.body, documented)):
            raise TypeError(f"{type(self.body).__name__} is not the documented {self.status} answer.")
        body = self.body.model_dump(mode="json", by_alias=True, exclude_unset=True)
        return JsonResponse(body, status=self.status)


def created(body: BaseModel) -> Answer:
    return Answer(body, 201)


def _rate_headers(response: HttpResponse, decision: apikeys.Decision) -> HttpResponse:
    response["X-RateLimit-Limit"] = str(decision.limit)
    response["X-RateLimit-Remaining"] = str(decision.remaining)
    response["X-RateLimit-Reset"] = str(decision.reset_seconds)
    return response


def take_allowance(scope) -> apikeys.Decision:
    """Spend one request of the key's allowance: once per authenticated API request."""
    return apikeys.take(scope.actor_id)


def _check(request: HttpRequest, op: Operation | None) -> None:
    """The operation's query and body models, applied before the view runs."""
    if op is None:
        return
    if op.query is not None:
        request.api_query = validate(op.query, query_values(request), "query")
    if op.body is not None and not (op.body_optional and not request.body):
        request.api_body = validate(op.body, read_json(request), "body")


# Why a key may not use an operation, by whether it is the platform's prices key.
_WRONG_KEY = {
    True: "This key cannot use this endpoint: it manages prices only.",
    False: "This endpoint takes the platform's prices key, not a tenant's key.",
}


def api_view(operations: dict[str, Operation], ingests: str | None = None) -> Callable:
    """An endpoint answering the methods of `operations`, authenticated by `Authorization: Bearer <key>`.

    Each operation's models check the query and body first (422 naming each path); the view gets
    `request.scope` (the key's tenant) and returns data or a response; service errors become JSON
    errors with their status. The same operations describe the endpoint in /api/openapi.json.
    `ingests` names what a POST here stores (/metrics counts the POSTs refused with a 4xx).
    """
    operations = {method.upper(): op for method, op in operations.items()}
    allowed = tuple(operations)

    def decorator(view: Callable) -> Callable:
        @csrf_exempt  # bearer keys, not cookies, authenticate the API: no CSRF exposure
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            response = answer(request, *args, **kwargs)
            if ingests and request.method == "POST" and 400 <= response.status_code < 500:
                monitoring.INGEST_REJECTED.labels(ingests, "requests").inc()
            return response

        def answer(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method not in allowed:
                response = json_error(405, "method_not_allowed", f"Use {', '.join(allowed)} here.")
                response["Allow"] = ", ".join(allowed)
                return response
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            scope = scope_for_token(token.strip()) if scheme.lower() == "bearer" and token else None
            if scope is None:
                response = json_error(
                    401, "unauthorized", "Send a valid API key as `Authorization: Bearer <key>`."
                )
                response["WWW-Authenticate"] = "Bearer"
                return response
            request.scope = scope
            metrics.attribute_to(scope.tenant_id)  # the key's tenant: its calls are that tenant's cost
            if scope.role not in operations[request.method].keys:
                return json_error(403, "forbidden", _WRONG_KEY[scope.role == PRICES_KEY])
            decision = take_allowance(scope)
            if not decision.allowed:
                response = json_error(
                    429,
                    "rate_limited",
                    f"This key sent more than {decision.limit} requests a minute; "
                    f"retry in {decision.retry_after} s.",
                )
                response["Retry-After"] = str(decision.retry_after)
                return _rate_headers(response, decision)
            try:
                _check(request, operations.get(request.method))
                result = view(request, *args, **kwargs)
            except DashboardError as exc:
                # A forged or stale cursor is a well-formed value that breaks a rule: 422, as in the document.
                status = 422 if isinstance(exc, BadCursor) else exc.status
                return _rate_headers(json_error(status, exc.code, exc.message, exc.fields), decision)
            if isinstance(result, BaseModel):
                result = Answer(result)
            if isinstance(result, Answer):
                result = result.response(operations[request.method])
            elif not isinstance(result, HttpResponse):
                result = JsonResponse(result, safe=False)
            return _rate_headers(result, decision)

        wrapper.operations = operations
        return wrapper

    return decorator
