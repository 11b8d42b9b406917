from django.urls import path

from dashboard.flows import views

app_name = "flows"

urlpatterns = [
    path("", views.list, name="list"),
]
