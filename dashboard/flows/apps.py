from django.apps import AppConfig


class FlowsConfig(AppConfig):
    name = "dashboard.flows"
    label = "flows"
