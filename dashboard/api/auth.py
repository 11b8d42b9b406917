"""Bearer-key authentication and JSON plumbing shared by every endpoint of the JSON API."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from dashboard.accounts.api_keys import scope_for_token
from dashboard.core.errors import DashboardError


def json_error(status: int, code: str, message: str, fields: dict[str, Any] | None = None) -> JsonResponse:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return JsonResponse({"error": error}, status=status)


def read_json(request: HttpRequest) -> Any:
    """The request body as JSON, or a DashboardError that names what is wrong with it."""
    if not request.body:
        raise DashboardError("The request needs a JSON body.", {"body": "empty"})
    try:
        return json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DashboardError(f"The body is not valid JSON: {exc}.", {"body": "invalid JSON"}) from None


def api_view(methods: Iterable[str]) -> Callable:
    """An endpoint answering `methods`, authenticated by `Authorization: Bearer <key>`.

    The view gets `request.scope` (the key's tenant) and returns data or a response; service
    errors become JSON errors with their status.
    """
    allowed = tuple(method.upper() for method in methods)

    def decorator(view: Callable) -> Callable:
        @csrf_exempt  # bearer keys, not cookies, authenticate the API: no CSRF exposure
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
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
            try:
                result = view(request, *args, **kwargs)
            except DashboardError as exc:
                return json_error(exc.status, exc.code, exc.message, exc.fields)
            if isinstance(result, HttpResponse):
                return result
            return JsonResponse(result, safe=False)

        return wrapper

    return decorator
