from django.apps import AppConfig


class ApiKeysConfig(AppConfig):
    name = "dashboard.apikeys"
    label = "apikeys"
