from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from dashboard.accounts.navigation import navigation_for
from dashboard.accounts.queries import list_tenants


def access(request: HttpRequest) -> dict:
    scope = getattr(request, "scope", None)
    if scope is None:
        return {"scope": None, "nav": []}
    context = {"scope": scope, "current_user": request.user, "nav": navigation_for(scope, request.path)}
    if scope.is_staff:
        # The switcher's list, read (once per request, cached) only when a page draws the switcher.
        context["tenant_choices"] = SimpleLazyObject(list_tenants)
    return context
