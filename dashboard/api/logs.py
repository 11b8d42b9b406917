"""JSON API endpoints of the logs area (thin: they call dashboard.logs.services)."""

urlpatterns: list = []
