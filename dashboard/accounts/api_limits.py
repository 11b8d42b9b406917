"""Per-key API rate limit: the interface the JSON API and the OTLP receivers call once per request.

A stub that always allows (the token bucket in DynamoDB replaces it): the API already sends the
`X-RateLimit-*` headers and answers 429 from what `take` decides, so swapping it in changes no caller.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

DEFAULT_PER_MINUTE = 600


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int
    retry_after: int


def per_minute() -> int:
    return int(getattr(settings, "API_RATE_LIMIT_PER_MINUTE", DEFAULT_PER_MINUTE))


def take(key_id: str) -> Decision:
    """Spend one request of `key_id`'s allowance (the stub: always allowed, allowance full)."""
    limit = per_minute()
    return Decision(allowed=True, limit=limit, remaining=limit, reset_seconds=0, retry_after=0)
