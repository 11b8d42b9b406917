"""The JSON API. Each area adds its endpoints in `dashboard/api/<area>.py` and lists them here."""

from django.urls import path

from dashboard.api import views

app_name = "api"

urlpatterns = [
    path("me", views.me, name="me"),
]
