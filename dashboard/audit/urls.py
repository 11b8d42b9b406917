from django.urls import path

from dashboard.audit import views

app_name = "audit"

urlpatterns = [
    path("", views.audit_trail, name="trail"),
    path("export.csv", views.audit_csv, name="export"),
]
