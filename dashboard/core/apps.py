from django.apps import AppConfig
from django.core.checks import Tags, register


class CoreConfig(AppConfig):
    name = "dashboard.core"
    label = "core"

    def ready(self) -> None:
        from dashboard.core import (
            converters,  # noqa: F401 — registers <key:…> before any URLconf loads
            tracing,
        )
        from dashboard.core.secret_key import check_secret_key

        tracing.configure()  # OTEL_EXPORTER_OTLP_ENDPOINT set: before the middleware chain is built

        register(check_secret_key, Tags.security, deploy=True)
