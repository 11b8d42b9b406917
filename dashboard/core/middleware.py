"""Middleware that is not about DynamoDB: JSON errors for the API, bounded query strings, headers."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control, patch_vary_headers

from dashboard.core.errors import DashboardError

log = logging.getLogger(__name__)

PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=(), fullscreen=(self)"
)
# Query values reach DynamoDB keys (project, status, month…); DynamoDB refuses keys over 2,048 bytes.
MAX_QUERY_VALUE_BYTES = 1000
# Opaque cursors and `next` paths are longer by nature, and never used as a key as they are; a search
# (`q`) may be a regular expression of up to 1,000 characters of any script.
LONG_QUERY_VALUES = {"next": 4000, "q": 4000}
LONG_QUERY_SUFFIX = "cursor"
MAX_CURSOR_BYTES = 8000


def query_value_bytes(name: str) -> int:
    """The most bytes (UTF-8) the edge lets through in a query value of this name."""
    return LONG_QUERY_VALUES.get(name) or (
        MAX_CURSOR_BYTES if name.endswith(LONG_QUERY_SUFFIX) else MAX_QUERY_VALUE_BYTES
    )


def _api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _error(request: HttpRequest, status: int, code: str, message: str, fields=None) -> HttpResponse:
    if _api(request):
        error = {"code": code, "message": message}
        if fields:
            error["fields"] = fields
        return JsonResponse({"error": error}, status=status)
    from django.template import loader

    # Rendered without the request context: that would read the session (DynamoDB) again.
    return HttpResponse(
        loader.render_to_string("error.html", {"reason": message, "status": status}), status=status
    )


def _is_otlp(response: HttpResponse) -> bool:
    # OTLP receivers answer errors in the client's encoding (a protobuf Status), as the spec asks.
    return response.get("Content-Type", "").split(";")[0].strip() == "application/x-protobuf"


def query_problem(request: HttpRequest) -> tuple[str, str] | None:
    """(parameter, problem) for the first query value no view should see, else None."""
    for name, values in request.GET.lists():
        most = query_value_bytes(name)
        for value in [name, *values]:
            if any(ord(char) < 32 and char not in "\t\r\n" for char in value):
                return name, "must not contain control characters (such as NUL)."
            if len(value.encode("utf-8", "surrogatepass")) > most:
                return name, f"is too long (at most {most} bytes)."
    return None


class EdgeMiddleware:
    """Refuses query strings no view should see, and makes every /api/ answer JSON.

    Under /api/ an oversized body is a 413 JSON error and anything unexpected a 500 JSON error
    (with DEBUG off; with DEBUG on the traceback page helps more). Placed first, so its
    `process_exception` runs after the DynamoDB and DashboardError handlers had their say.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        problem = query_problem(request)
        if problem is not None:
            name, message = problem
            response = _error(request, 400, "bad_request", f"`{name}` {message}", {name: message})
        else:
            response = self.get_response(request)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        if getattr(request, "varies_on_htmx", False):
            # The view answered a fragment or the page by `HX-Request` (core.http.wants_partial):
            # a cache must not hand the fragment to a full load of the same URL.
            patch_vary_headers(response, ("HX-Request",))
        match = getattr(request, "resolver_match", None)
        if match is not None and match.view_name in settings.NO_STORE_VIEWS:
            # Pages that show a secret: no browser or proxy cache keeps a copy (back button, disk).
            patch_cache_control(response, no_store=True, private=True)
        if (
            _api(request)
            and response.status_code >= 400
            and not _is_json(response)
            and not _is_otlp(response)
        ):
            # An error answered before any view ran (Django's own 400 for a body over
            # DATA_UPLOAD_MAX_MEMORY_SIZE, a 500 page from a middleware): the API speaks JSON.
            status = response.status_code
            code = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
            message = (
                "The request could not be handled." if status < 500 else "Something went wrong on our side."
            )
            headers = {
                key: value for key, value in response.items() if key.lower() in ("allow", "www-authenticate")
            }
            response = JsonResponse(
                {
                    "error": {
                        "code": code.get(status, "error" if status >= 500 else "bad_request"),
                        "message": message,
                    }
                },
                status=status,
                headers=headers,
            )
            response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RequestDataTooBig):
            most = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            return _error(request, 413, "too_large", f"The request body is larger than {most:,} bytes.")
        if not _api(request) or settings.DEBUG:
            return None
        log.exception("Unexpected error answering %s %s", request.method, request.path, exc_info=exception)
        return _error(request, 500, "error", "Something went wrong on our side.")


def _is_json(response: HttpResponse) -> bool:
    # OTLP receivers answer a protobuf client in protobuf (google.rpc.Status), as OTLP/HTTP asks.
    return response.get("Content-Type", "").startswith(("application/json", "application/x-protobuf"))


class DashboardErrorMiddleware:
    """A service's NotFound/PermissionDenied/Conflict/… that no view handled becomes a clear page or JSON error."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DashboardError):
            return None
        if request.path.startswith("/api/"):
            error = {"code": exception.code, "message": exception.message}
            if exception.fields:
                error["fields"] = exception.fields
            return JsonResponse({"error": error}, status=exception.status)
        template = {403: "403.html", 404: "404.html"}.get(exception.status, "error.html")
        return render(
            request,
            template,
            {"reason": exception.message, "status": exception.status},
            status=exception.status,
        )
