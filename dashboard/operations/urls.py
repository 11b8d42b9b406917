from django.urls import path

from dashboard.operations import views

app_name = "operations"

urlpatterns = [
    path("", views.page, name="page"),
    path("erase/", views.erase_start, name="erase_start"),
    path("erase/<slug:job_id>/", views.erase_job, name="erase_job"),
    path("erase/<slug:job_id>/erase/", views.erase_go, name="erase_go"),
    path("erase/<slug:job_id>/files/<slug:name>/", views.erase_file, name="erase_file"),
]
