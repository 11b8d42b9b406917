"""JSON API endpoints of the registry area (thin: they call dashboard.registry.services)."""

urlpatterns: list = []
