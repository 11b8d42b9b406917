"""Request helpers shared by pages and the JSON API."""

from __future__ import annotations

from django.http import HttpRequest

from dashboard.core.inputs import parse_limit


def limit_param(request: HttpRequest, default: int, most: int, name: str = "limit") -> int:
    """`?limit=` as a page size from 1 to `most` (422 naming it otherwise), `default` when absent."""
    return parse_limit(request.GET.get(name), default, most, name)
