from __future__ import annotations

from django.http import HttpRequest

from dashboard.api.auth import api_view


@api_view(["GET"])
def me(request: HttpRequest) -> dict:
    """Who the key acts as: lets a client check its key before sending data."""
    return {
        "tenant_id": request.scope.tenant_id,
        "key_id": request.scope.actor_id,
        "role": request.scope.role,
    }
