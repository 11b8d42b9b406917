"""Independent DynamoDB reads at once: a page whose reads do not depend on each other waits for the
slowest, not for their sum."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="side-by-side-read")


def side_by_side(jobs: dict[str, Callable]) -> dict:
    """Run independent reads at once; each in a copy of the caller's context, so the request's
    DynamoDB call counting (dashboard.dynamo.metrics) and request cache see them."""
    futures = {name: _pool.submit(contextvars.copy_context().run, job) for name, job in jobs.items()}
    return {name: future.result() for name, future in futures.items()}
