"""The background worker's wake-up: work a request leaves for it (alert deliveries, re-pricing runs).

The worker is `manage.py run_alerts --loop` beside the web tier (`make serve`, a scheduled task on
AWS) or, under `make run`, a loop thread of the serving process. It does its work each interval;
`wake()` lets a request in the same process start it at once instead (another process's worker
picks the work up at its next interval: the work is recorded in DynamoDB, not in this event).
"""

from __future__ import annotations

import threading

work_waiting = threading.Event()


def wake() -> None:
    work_waiting.set()
