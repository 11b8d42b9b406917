"""Turn an unreachable DynamoDB into a clear 503, and count DynamoDB calls per request."""

from __future__ import annotations

import logging

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError, NoCredentialsError
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

from dashboard.core.request_cache import request_scope
from dashboard.dynamo import metrics

log = logging.getLogger(__name__)

UNAVAILABLE_CODES = {
    "ResourceNotFoundException",
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "UnrecognizedClientException",
}


def unavailable_reason(exc: BaseException) -> str | None:
    """Why DynamoDB could not serve the request, or None when the error is something else."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, ConnectionError | HTTPClientError):
            return "the database does not answer"
        if isinstance(exc, NoCredentialsError):
            return "the dashboard has no credentials for the database"
        if isinstance(exc, ClientError):
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ResourceNotFoundException":
                return "a table is missing (run `manage.py create_tables`)"
            if code in UNAVAILABLE_CODES:
                return "the database is overloaded or unavailable"
        exc = getattr(exc, "cause", None) or exc.__cause__ or exc.__context__
    return None


class DynamoUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        reason = unavailable_reason(exception)
        if reason is None:
            return None
        return unavailable_response(request, reason, exception)


def unavailable_response(request: HttpRequest, reason: str, exception: BaseException) -> HttpResponse:
    """The 503 answer, rendered without the request context: that would touch the session, i.e. DynamoDB."""
    log.error("DynamoDB unavailable: %s (%s)", reason, exception)
    if request.path.startswith("/api/"):
        message = f"Service unavailable: {reason}. Try again shortly."
        return JsonResponse({"error": {"code": "unavailable", "message": message}}, status=503)
    return HttpResponse(loader.render_to_string("503.html", {"reason": reason}), status=503)


class CallStatsMiddleware:
    """Counts every DynamoDB call a request makes; the figures go to response headers when enabled."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # tenant_scope: the tenant a request serves (set once its scope is known) ends with it.
        with metrics.track(capacity=settings.DYNAMODB_CALL_HEADERS) as stats, metrics.tenant_scope():
            request.dynamo_stats = stats
            response = self.get_response(request)
        if settings.DYNAMODB_CALL_HEADERS:
            response["X-DynamoDB-Calls"] = str(stats.calls)
            response["X-DynamoDB-Capacity"] = f"{stats.capacity:.1f}"
        return response


class RequestCacheMiddleware:
    """Gives each request its own cache of shared reads (see `request_cache`)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with request_scope():
            return self.get_response(request)
