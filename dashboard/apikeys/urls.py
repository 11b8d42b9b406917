from django.urls import path

from dashboard.apikeys import views

app_name = "apikeys"

urlpatterns = [
    path("", views.api_key_list, name="list"),
    path("<key:key_id>/revoke/", views.api_key_revoke, name="revoke"),
]
