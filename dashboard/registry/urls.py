from django.urls import path

from dashboard.registry import views

app_name = "registry"

urlpatterns = [
    path("", views.list, name="list"),
]
