"""Shared by the management commands that talk to DynamoDB."""

from __future__ import annotations

from contextlib import contextmanager

from django.conf import settings
from django.core.management.base import CommandError

from dashboard.dynamo.middleware import unavailable_reason


@contextmanager
def database_errors_as_sentences():
    """An unreachable database or missing credentials end the command with one clear sentence."""
    try:
        yield
    except Exception as exc:
        reason = unavailable_reason(exc)
        if reason is None:
            raise
        where = settings.DYNAMODB_ENDPOINT_URL or f"AWS ({settings.DYNAMODB_REGION})"
        hint = (
            " Start it with `make run` or `manage.py dynamodb_local start`."
            if settings.DYNAMODB_ENDPOINT_URL
            else ""
        )
        raise CommandError(f"DynamoDB at {where} cannot be used: {reason}.{hint}") from None
