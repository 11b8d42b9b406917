from django.urls import path

from dashboard.registry import views

app_name = "registry"

urlpatterns = [
    path("", views.model_list, name="list"),
    path("register/", views.register, name="register"),
    path("approvals/", views.approvals_queue, name="approvals"),
    path("approvals/<key:request_id>/", views.decide, name="decide"),
    path("governance/", views.governance, name="governance"),
    path("governance/test-event/", views.test_event, name="test_event"),
    path("timeline/", views.tenant_timeline, name="tenant_timeline"),
    path("<key:model_id>/", views.detail, name="detail"),
    path("<key:model_id>/versions/new/", views.new_version, name="new_version"),
    path("<key:model_id>/timeline/", views.timeline, name="timeline"),
    path("<key:model_id>/aliases/", views.set_alias, name="set_alias"),
    path("<key:model_id>/versions/<key:version>/status/", views.change_status, name="change_status"),
    path("<key:model_id>/versions/<key:version>/confirm/", views.confirm_change, name="confirm"),
]

# Served under /datasets/ (namespace "datasets"): datasets live in the registry area with the models.
dataset_patterns = (
    [
        path("", views.dataset_list, name="list"),
        path("<key:dataset_id>/", views.dataset_detail, name="detail"),
    ],
    "datasets",
)
