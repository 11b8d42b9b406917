"""The `run_alerts` loop, the background worker: a pass now, then one every interval, until stopped.

Each pass evaluates every tenant's alert rules and finishes pending deliveries, then runs the re-pricing
jobs the prices page queued (dashboard.analytics.repricing.run_queued) and packs the settled figures of
the tenants that are due (dashboard.analytics.compaction.run_pass: once a day, and after late writes),
sums the marketplace templates' 30-day figures (dashboard.analytics.template_summaries.run_pass: once a
day),
applies shortened retentions (dashboard.operations.retention), closes the registry's change requests
past their expiry (dashboard.registry.services.expire_requests) and moves staff's tenant export and
erase jobs on (dashboard.operations.erasure.run_queued). A request of this process wakes it early (dashboard.core.worker.wake): after claiming an alert, or queueing a re-pricing run.

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

from dashboard.alerts.evaluation import PassResult, deliver_pending, run_pass
from dashboard.analytics import compaction, repricing, template_summaries
from dashboard.core import worker
from dashboard.operations import erasure, retention
from dashboard.operations.services import flush_usage
from dashboard.registry import services as registry

log = logging.getLogger(__name__)


def one_pass(woken: bool = False) -> PassResult | None:
    """One turn of the background worker: evaluate and redeliver (or, woken by a request, deliver
    what it claimed), then run queued re-pricing jobs; None when the alerts part failed (logged)."""
    result = None
    try:
        result = deliver_pending() if woken else run_pass()
    except Exception as exc:  # noqa: BLE001 — the loop must outlive any one pass
        log.error("alerts pass failed; trying again at the next interval", exc_info=exc)
    try:
        repricing.run_queued()  # a re-pricing run the prices page queued (its failure is on the job)
    except Exception as exc:  # noqa: BLE001 — DynamoDB unreachable for a moment, say
        log.error("looking for queued re-pricing failed", exc_info=exc)
    try:
        compaction.run_pass()  # the tenants' settled figures packed anew: once a day, and after late writes
    except Exception as exc:  # noqa: BLE001
        log.error("packing settled figures failed; the next pass tries again", exc_info=exc)
    try:
        template_summaries.run_pass()  # each template's 30-day figures for the marketplace cards, when due
    except Exception as exc:  # noqa: BLE001
        log.error("summing the templates' figures failed; the next pass tries again", exc_info=exc)
    try:
        retention.run_queued()  # a shortened retention staff set, brought to the stored items
    except Exception as exc:  # noqa: BLE001
        log.error("looking for queued retention jobs failed", exc_info=exc)
    try:
        registry.expire_requests()  # change requests past their expiry leave the approvals queue
    except Exception as exc:  # noqa: BLE001
        log.error("closing expired change requests failed; the next pass tries again", exc_info=exc)
    try:
        erasure.run_queued()  # staff's export and erase of a tenant, a bounded part each pass
    except Exception as exc:  # noqa: BLE001
        log.error("looking for tenant erasure jobs failed", exc_info=exc)
    try:
        flush_usage()  # no request end in a loop: write what this pass metered
    except Exception as exc:  # noqa: BLE001
        log.error("writing the worker's metering failed", exc_info=exc)
    return result


def run_forever(
    interval: float, stop: threading.Event, on_pass: Callable[[PassResult], None] | None = None
) -> None:
    woken = False
    while not stop.is_set():
        result = one_pass(woken)
        if result is not None and on_pass is not None:
            on_pass(result)
        # A request in this process may wake the worker early (dashboard.core.worker.wake).
        woken = worker.work_waiting.wait(interval) and not stop.is_set()
        worker.work_waiting.clear()


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
        worker.wake()  # out of its wait now
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
