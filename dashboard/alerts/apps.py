from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "dashboard.alerts"
    label = "alerts"
    # ALERTS_IN_PROCESS starts the run_alerts loop where the WSGI application is loaded
    # (dashboard/wsgi.py → dashboard.alerts.scheduler), not here: ready() also runs in every
    # management command and in runserver's autoreloader watcher.

    def ready(self) -> None:
        from dashboard.alerts.evaluation import check_after_ingest
        from dashboard.analytics.events import executions_recorded

        def check(sender, tenant_id: str, **kwargs) -> None:
            check_after_ingest(tenant_id)

        executions_recorded.connect(check, weak=False, dispatch_uid="alerts.check_after_ingest")
