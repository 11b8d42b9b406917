from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from dashboard.accounts.access import scope_for_request, user_for_request


class AccessScopeMiddleware:
    """Gives every page request `request.user` and `request.scope` (None when signed out).

    The JSON API authenticates with keys instead (see dashboard.api.auth), so it skips the session.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            request.user = request.scope = None
        else:
            request.user = user_for_request(request)
            request.scope = scope_for_request(request)
        return self.get_response(request)
