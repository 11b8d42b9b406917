"""JSON API endpoints of the analytics area (thin: they call dashboard.analytics.services)."""

urlpatterns: list = []
