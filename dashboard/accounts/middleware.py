from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from dashboard.accounts.access import erasing_refusal, scope_for_request, user_for_request
from dashboard.dynamo import metrics
from dashboard.dynamo.middleware import unavailable_reason, unavailable_response


class AccessScopeMiddleware:
    """Gives every page request `request.user` and `request.scope` (None when signed out).

    The JSON API authenticates with keys instead (see dashboard.api.auth), so it skips the session.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.user = request.scope = None
        # Health probes and scrapes must not load a session (a DynamoDB read) even when a cookie comes along.
        if not request.path.startswith(("/api/", "/healthz", "/readyz", "/metrics")):
            try:
                request.user = user_for_request(request)
                if getattr(request, "tenant_erasing", False):
                    return erasing_refusal(request)  # the tenant's erase has started: no page of it
                request.scope = scope_for_request(request)
                metrics.attribute_to(request.scope.tenant_id if request.scope else None)  # cost to serve
            except Exception as exc:
                # Raised here, outside any view, it would never reach process_exception: answer now.
                reason = unavailable_reason(exc)
                if reason is None:
                    raise
                return unavailable_response(request, reason, exc)
        return self.get_response(request)
