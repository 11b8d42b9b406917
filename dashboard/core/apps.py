from django.apps import AppConfig
from django.core.checks import Tags, register


class CoreConfig(AppConfig):
    name = "dashboard.core"
    label = "core"

    def ready(self) -> None:
        from dashboard.core import converters  # noqa: F401 — registers <key:…> before any URLconf loads
        from dashboard.core.secret_key import check_secret_key

        register(check_secret_key, Tags.security, deploy=True)
