"""The `run_alerts` loop: a pass now, then one every interval, until stopped.

Three ways to run it, the same loop each time:
- `manage.py run_alerts --loop` (a process of its own; on AWS, the command without `--loop` on a
  schedule);
- `ALERTS_IN_PROCESS=true` (what `make run` sets): a daemon thread of the web process, started when
  the WSGI application is loaded (`dashboard/wsgi.py`), so the runserver autoreloader's watcher and
  management commands never start one;
- `make serve` (gunicorn): the master starts one `run_alerts --loop` process beside its workers and
  stops it on exit (`gunicorn.conf.py`), rather than one thread per worker.

A pass that fails (DynamoDB unreachable, a bug) is logged and the loop carries on at the next
interval: a loop that died silently would leave rules unevaluated with no sign of it. Claims keep
overlapping loops harmless (dashboard/alerts/evaluation.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.conf import settings

from dashboard.alerts.evaluation import PassResult, run_pass
from dashboard.operations.services import flush_usage

log = logging.getLogger(__name__)


def one_pass() -> PassResult | None:
    """Evaluate and redeliver once; None when the pass failed (logged)."""
    try:
        result = run_pass()
    except Exception:  # the loop must outlive any one pass
        log.exception("alerts pass failed; trying again at the next interval")
        return None
    finally:
        try:
            flush_usage()  # no request end in a loop: write what this pass metered
        except Exception:
            log.exception("writing the alerts pass's metering failed")
    return result


def run_forever(
    interval: float, stop: threading.Event, on_pass: Callable[[PassResult], None] | None = None
) -> None:
    while not stop.is_set():
        result = one_pass()
        if result is not None and on_pass is not None:
            on_pass(result)
        stop.wait(interval)


class Loop:
    """The loop in a daemon thread; `stop()` ends it after the pass under way."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self.thread = threading.Thread(
            target=run_forever, args=(interval, self._stop), name="alerts", daemon=True
        )

    def start(self) -> Loop:
        self.thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.thread.join(timeout)

    @property
    def running(self) -> bool:
        return self.thread.is_alive()


_started: Loop | None = None
_lock = threading.Lock()


def start_in_process() -> Loop | None:
    """Start this process's loop thread when `ALERTS_IN_PROCESS` is on (once per process)."""
    global _started
    if not settings.ALERTS_IN_PROCESS:
        return None
    with _lock:
        if _started is None or not _started.running:
            _started = Loop(settings.ALERTS_INTERVAL_SECONDS).start()
            log.info("alert rules evaluated in this process every %.0f s", settings.ALERTS_INTERVAL_SECONDS)
        return _started


def stop_in_process() -> None:
    global _started
    with _lock:
        if _started is not None:
            _started.stop()
            _started = None
