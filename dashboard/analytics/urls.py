from django.urls import path

from dashboard.analytics import views

app_name = "analytics"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("executions/", views.executions, name="executions"),
]
