from django.urls import path

from dashboard.analytics import views

app_name = "analytics"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("export.csv", views.export_csv, name="export"),
    path("budget/", views.set_budget, name="budget"),
    path("dimensions/", views.metadata_dimensions, name="dimensions"),
    path("executions/", views.executions, name="executions"),
    path("executions/export.csv", views.executions_csv, name="executions_export"),
    path("executions/<key:execution_id>/", views.execution_detail, name="execution"),
    path("sessions/<key:session_id>/", views.session, name="session"),
    path("people/<key:user_id>/", views.person, name="person"),
    path("prices/", views.prices, name="prices"),
    path("prices/save/", views.save_price, name="save_price"),
    path("prices/<key:price_scope>/<key:price_id>/retire/", views.retire_price, name="retire_price"),
    path("prices/reprice/", views.reprice, name="reprice"),
    path("prices/runs/<key:job_id>/", views.reprice_run, name="reprice_run"),
]
