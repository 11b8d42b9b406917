from django.urls import path

from dashboard.experiments import views

app_name = "experiments"

urlpatterns = [
    path("", views.experiments, name="list"),
    path("<key:experiment_id>/", views.experiment, name="experiment"),
    path("<key:experiment_id>/compare/", views.compare, name="compare"),
    path("<key:experiment_id>/card/", views.experiment_card, name="experiment_card"),
    path("<key:experiment_id>/runs/<key:run_id>/logs/", views.run_logs, name="run_logs"),
    path("<key:experiment_id>/runs/<key:run_id>/logs/tail/", views.run_logs_tail, name="run_logs_tail"),
    path(
        "<key:experiment_id>/runs/<key:run_id>/logs/earlier/",
        views.run_logs_earlier,
        name="run_logs_earlier",
    ),
    path(
        "<key:experiment_id>/runs/<key:run_id>/logs/lines/<key:line>/",
        views.run_log_line,
        name="run_log_line",
    ),
    path(
        "<key:experiment_id>/runs/<key:run_id>/logs/errors/<str:which>/",
        views.run_log_error,
        name="run_log_error",
    ),
    path("<key:experiment_id>/runs/<key:run_id>/logs/download/", views.download, name="download"),
    path("<key:experiment_id>/runs/<key:run_id>/logs/volume/", views.run_log_volume, name="run_log_volume"),
    path(
        "<key:experiment_id>/runs/<key:run_id>/logs/patterns/",
        views.run_log_patterns,
        name="run_log_patterns",
    ),
    path("<key:experiment_id>/runs/<key:run_id>/logs/views/", views.save_log_view, name="save_log_view"),
    path(
        "<key:experiment_id>/runs/<key:run_id>/logs/views/delete/",
        views.delete_log_view,
        name="delete_log_view",
    ),
    path(
        "<key:experiment_id>/runs/<key:run_id>/logs/columns/", views.set_log_columns, name="set_log_columns"
    ),
    path("<key:experiment_id>/logs/compare/", views.compare_logs, name="compare_logs"),
]
