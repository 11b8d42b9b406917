"""`manage.py run_alerts` — one evaluation and redelivery pass (or `--loop`): see dashboard/alerts/evaluation.py."""

from __future__ import annotations

import contextlib
import threading

from django.core.management.base import BaseCommand

from dashboard.alerts import scheduler
from dashboard.alerts.evaluation import PassResult, run_pass
from dashboard.operations.services import flush_usage


class Command(BaseCommand):
    help = "Evaluate every tenant's alert rules once and finish pending deliveries (--loop: repeat)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--loop", action="store_true", help="Repeat until stopped (a failed pass is logged)."
        )
        parser.add_argument("--interval", type=float, default=60.0, help="Seconds between passes (--loop).")

    def handle(self, *args, loop: bool = False, interval: float = 60.0, **options) -> None:
        if loop:
            with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the loop quietly
                scheduler.run_forever(interval, threading.Event(), on_pass=self._report)
            return
        result = run_pass()  # a single pass fails loudly: its caller (a scheduler) sees the exit status
        flush_usage()  # a command has no request end: write what it metered now
        self._report(result)

    def _report(self, result: PassResult) -> None:
        self.stdout.write(
            f"alerts: {result.tenants} tenant(s) checked, {result.fired} fired, "
            f"{result.redelivered} pending delivery(ies) finished"
        )
