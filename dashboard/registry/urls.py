from django.urls import path

from dashboard.registry import views

app_name = "registry"

urlpatterns = [
    path("", views.list, name="list"),
    path("register/", views.register, name="register"),
    path("<str:model_id>/", views.detail, name="detail"),
    path("<str:model_id>/versions/new/", views.new_version, name="new_version"),
    path("<str:model_id>/versions/<str:version>/status/", views.change_status, name="change_status"),
]
