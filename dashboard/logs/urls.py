from django.urls import path

from dashboard.logs import views

app_name = "logs"

urlpatterns = [
    path("", views.experiments, name="experiments"),
    path("<str:experiment_id>/", views.experiment, name="experiment"),
    path("<str:experiment_id>/card/", views.experiment_card, name="experiment_card"),
    path("<str:experiment_id>/runs/<str:run_id>/logs/", views.run_logs, name="run_logs"),
    path("<str:experiment_id>/runs/<str:run_id>/logs/download/", views.download, name="download"),
]
