"""The JSON API. Each area keeps its endpoints in `dashboard/api/<area>.py`."""

from django.urls import include, path

from dashboard.api import views

app_name = "api"

urlpatterns = [
    path("openapi.json", views.openapi, name="openapi"),
    path("docs", views.docs, name="docs"),
    path("me", views.me, name="me"),
    path("", include("dashboard.api.marketplace")),
    path("", include("dashboard.api.registry")),
    path("", include("dashboard.api.analytics")),
    path("", include("dashboard.api.experiments")),
    path("", include("dashboard.api.flows")),
    path("", include("dashboard.api.otel")),
    path("", include("dashboard.api.alerts")),
]
