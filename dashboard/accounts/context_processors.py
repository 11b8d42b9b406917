from __future__ import annotations

from django.http import HttpRequest

from dashboard.accounts.navigation import navigation_for


def access(request: HttpRequest) -> dict:
    scope = getattr(request, "scope", None)
    if scope is None:
        return {"scope": None, "nav": []}
    return {"scope": scope, "current_user": request.user, "nav": navigation_for(scope, request.path)}
