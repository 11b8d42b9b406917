"""JSON API endpoints of the flows area (thin: they call dashboard.flows.services)."""

urlpatterns: list = []
