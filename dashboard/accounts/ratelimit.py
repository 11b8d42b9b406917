"""Login failure limits per account and per client address, in fixed windows (atomic ADD)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings

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


def take_attempt(email: str, address: str) -> int | None:
    """Count this sign-in attempt first, then judge it: seconds to wait when the account or the
    address already used up its window, else None (go ahead and check the password).

    Counting before evaluating is what makes the limit hold under concurrency: each attempt gets
    its own number from DynamoDB's atomic ADD, so 30 parallel guesses see 1…30 and only the
    first `limit` are evaluated. A successful sign-in gives its slot back (`release`).
    """
    window = _window()
    expires = clock.now() + timedelta(seconds=window.seconds * 2)
    blocked = False
    for bucket, limit in _buckets(email, address, window):
        counter = RateLimitCounter(bucket)
        counter.update(actions=[RateLimitCounter.count.add(1), RateLimitCounter.expires_at.set(expires)])
        if counter.count > limit:
            blocked = True
    return window.retry_after if blocked else None


def release(email: str, address: str) -> None:
    """Give back the slot a successful sign-in took: only failures count against the limit."""
    window = _window()
    for bucket, _limit in _buckets(email, address, window):
        RateLimitCounter(bucket).update(actions=[RateLimitCounter.count.add(-1)])
