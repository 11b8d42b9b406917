from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "dashboard.alerts"
    label = "alerts"
    # ALERTS_IN_PROCESS starts the run_alerts loop where the WSGI application is loaded
    # (dashboard/wsgi.py → dashboard.alerts.scheduler), not here: ready() also runs in every
    # management command and in runserver's autoreloader watcher.
