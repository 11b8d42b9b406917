from django.urls import path

from dashboard.experiments import views

app_name = "experiments"

urlpatterns = [
    path("", views.experiments, name="list"),
    path("<key:experiment_id>/", views.experiment, name="experiment"),
    path("<key:experiment_id>/compare/", views.compare, name="compare"),
    path("<key:experiment_id>/card/", views.experiment_card, name="experiment_card"),
    path("<key:experiment_id>/runs/<key:run_id>/logs/", views.run_logs, name="run_logs"),
    path("<key:experiment_id>/runs/<key:run_id>/logs/download/", views.download, name="download"),
]
