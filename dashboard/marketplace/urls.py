from django.urls import path

from dashboard.marketplace import views

app_name = "marketplace"

urlpatterns = [
    path("", views.browse, name="browse"),
    path("queue/", views.queue, name="queue"),
]
