"""JSON API endpoints of the marketplace area (thin: they call dashboard.marketplace.services)."""

urlpatterns: list = []
