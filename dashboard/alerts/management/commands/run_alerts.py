"""`manage.py run_alerts` — one evaluation and redelivery pass (or `--loop`): see dashboard/alerts/evaluation.py."""

from __future__ import annotations

import logging
import time

from django.core.management.base import BaseCommand

from dashboard.alerts.evaluation import run_pass
from dashboard.operations.services import flush_usage

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Evaluate every tenant's alert rules once and finish pending deliveries (--loop: repeat)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--loop", action="store_true", help="Repeat forever.")
        parser.add_argument("--interval", type=float, default=60.0, help="Seconds between passes (--loop).")

    def handle(self, *args, loop: bool = False, interval: float = 60.0, **options) -> None:
        while True:
            try:
                result = run_pass()
            except Exception:
                if not loop:
                    raise
                # DynamoDB unreachable for a moment, say: the loop carries on (one tenant's failure
                # never gets here: run_pass logs it and goes on with the others).
                log.exception("alerts pass failed; trying again in %s s", interval)
            else:
                self.stdout.write(
                    f"alerts: {result.tenants} tenant(s) checked, {result.fired} fired, "
                    f"{result.redelivered} pending delivery(ies) finished"
                )
                flush_usage()  # a command has no request end: write what it metered now
            if not loop:
                return
            time.sleep(interval)
