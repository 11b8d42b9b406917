from django.urls import path

from dashboard.operations import views

app_name = "operations"

urlpatterns = [
    path("", views.page, name="page"),
]
