"""Bearer-key authentication and JSON plumbing shared by every endpoint of the JSON API."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from dashboard.accounts.api_keys import scope_for_token
from dashboard.core.errors import DashboardError
from dashboard.core.inputs import PayloadTooLarge, clean_json_text


def json_error(status: int, code: str, message: str, fields: dict[str, Any] | None = None) -> JsonResponse:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return JsonResponse({"error": error}, status=status)


def read_json(request: HttpRequest) -> Any:
    """The request body as clean JSON, or a DashboardError that names what is wrong with it.

    The one reader of every endpoint: size (413), nesting (400, checked before parsing), NaN and
    Infinity (422), lone surrogates and NUL in any key or string (422 naming the path).
    """
    most = settings.API_MAX_BODY_BYTES
    try:
        body = request.body
    except RequestDataTooBig:
        raise PayloadTooLarge(f"The body is larger than {most:,} bytes.", {"body": "too large"}) from None
    if not body:
        raise DashboardError("The request needs a JSON body.", {"body": "empty"})
    return clean_json_text(body, max_bytes=most)


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
