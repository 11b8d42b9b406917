from django.apps import AppConfig
from django.conf import settings
from django.core.signals import request_finished


class OperationsConfig(AppConfig):
    name = "dashboard.operations"
    label = "operations"

    def ready(self) -> None:
        from dashboard.dynamo import metrics
        from dashboard.dynamo.tables import all_models
        from dashboard.operations import services

        metrics.metering_enabled = settings.DYNAMODB_USAGE_METERING
        for model in all_models():
            ttl = model._ttl_attribute()
            if ttl:
                metrics.TTL_ATTRIBUTES[model.Meta.table_suffix] = ttl.attr_name
        request_finished.connect(services.maybe_flush, dispatch_uid="operations-usage-flush")
