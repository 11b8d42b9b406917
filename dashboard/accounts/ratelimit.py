"""Login failure limits per account and per client address, in fixed windows (atomic ADD)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from pynamodb.exceptions import DoesNotExist

from dashboard.accounts.models import RateLimitCounter
from dashboard.core import clock


@dataclass
class Window:
    start: int
    seconds: int

    @property
    def retry_after(self) -> int:
        return max(1, self.start + self.seconds - int(clock.now().timestamp()))


def _window() -> Window:
    seconds = settings.LOGIN_FAILURE_WINDOW_SECONDS
    now = int(clock.now().timestamp())
    return Window(start=now - now % seconds, seconds=seconds)


def _buckets(email: str, address: str, window: Window) -> list[tuple[str, int]]:
    account = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return [
        (f"login:account:{account}:{window.start}", settings.LOGIN_FAILURES_PER_ACCOUNT),
        (f"login:address:{address}:{window.start}", settings.LOGIN_FAILURES_PER_ADDRESS),
    ]


def blocked_for(email: str, address: str) -> int | None:
    """Seconds until login may be tried again, or None when it may be tried now."""
    window = _window()
    for bucket, limit in _buckets(email, address, window):
        try:
            counter = RateLimitCounter.get(bucket)
        except DoesNotExist:
            continue
        if counter.count >= limit:
            return window.retry_after
    return None


def record_failure(email: str, address: str) -> None:
    window = _window()
    expires = clock.now() + timedelta(seconds=window.seconds * 2)
    for bucket, _limit in _buckets(email, address, window):
        RateLimitCounter(bucket).update(
            actions=[RateLimitCounter.count.add(1), RateLimitCounter.expires_at.set(expires)]
        )
