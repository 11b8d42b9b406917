from django.apps import AppConfig


class MarketplaceConfig(AppConfig):
    name = "dashboard.marketplace"
    label = "marketplace"
