import threading

from django.apps import AppConfig
from django.conf import settings


class AlertsConfig(AppConfig):
    name = "dashboard.alerts"
    label = "alerts"

    def ready(self) -> None:
        if settings.ALERTS_IN_PROCESS:
            # Local development: the run_alerts loop inside the web process (claims keep it safe
            # beside other processes doing the same).
            threading.Thread(target=_loop, name="alerts", daemon=True).start()


def _loop() -> None:
    """Evaluate every tenant each interval; deliver at once what an API request has claimed meanwhile.

    Nothing that goes wrong in a pass stops the loop (a dead thread would stop alerting for everyone).
    """
    import logging

    from dashboard.alerts.evaluation import deliver_pending, run_pass, work_waiting

    while True:
        woken = work_waiting.wait(settings.ALERTS_INTERVAL_SECONDS)
        work_waiting.clear()
        try:
            if woken:
                deliver_pending()
            else:
                run_pass()
        except Exception:
            logging.getLogger(__name__).exception("alerts pass failed; trying again next interval")
