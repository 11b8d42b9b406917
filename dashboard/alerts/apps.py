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
    import logging
    import time

    from pynamodb.exceptions import PynamoDBException

    from dashboard.alerts.evaluation import run_pass

    while True:
        time.sleep(settings.ALERTS_INTERVAL_SECONDS)
        try:
            run_pass()
        except PynamoDBException:
            logging.getLogger(__name__).exception("alerts pass failed; trying again next interval")
