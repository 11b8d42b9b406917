from django.apps import AppConfig


class DynamoConfig(AppConfig):
    name = "dashboard.dynamo"
    label = "dynamo"
