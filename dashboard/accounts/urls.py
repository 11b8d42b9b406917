from django.urls import path

from dashboard.accounts import views

app_name = "accounts"

urlpatterns = [
    path("tenant/", views.switch_tenant, name="switch_tenant"),
    path("tables/", views.tables, name="tables"),
    path("retention/", views.retention, name="retention"),
    path("users/", views.users, name="users"),
    path("users/<key:user_id>/", views.user_edit, name="user_edit"),
    path("users/<key:user_id>/active/", views.user_set_active, name="user_set_active"),
    path("users/<key:user_id>/sign-out/", views.user_sign_out, name="user_sign_out"),
]
