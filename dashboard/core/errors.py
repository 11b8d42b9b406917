"""The project's own errors: services raise these, views and the API turn them into responses."""

from __future__ import annotations


class DashboardError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class NotFound(DashboardError):
    status = 404
    code = "not_found"


class PermissionDenied(DashboardError):
    status = 403
    code = "forbidden"


class Conflict(DashboardError):
    """A conditional write lost a race (someone else changed the item first)."""

    status = 409
    code = "conflict"


class ValidationFailed(DashboardError):
    status = 422
    code = "invalid"


class TenantBeingErased(PermissionDenied):
    """The tenant's erase has started: its people, keys and telemetry are refused from then on."""

    code = "tenant_erasing"


class ServiceUnavailable(DashboardError):
    status = 503
    code = "unavailable"
