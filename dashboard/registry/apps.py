from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "dashboard.registry"
    label = "registry"
