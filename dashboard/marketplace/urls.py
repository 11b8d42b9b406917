from django.urls import path

from dashboard.marketplace import views

app_name = "marketplace"

urlpatterns = [
    path("", views.browse, name="browse"),
    path("new/", views.create, name="create"),
    path("moderation/", views.queue, name="queue"),
    path("moderation/decide/", views.moderate_bulk, name="moderate_bulk"),
    path("moderation/badge/", views.pending_badge, name="pending_badge"),
    path("<key:template_id>/", views.detail, name="detail"),
    path("<key:template_id>/edit/", views.edit, name="edit"),
    path("<key:template_id>/delete/", views.delete, name="delete"),
    path("<key:template_id>/use/", views.use, name="use"),
    path("<key:template_id>/rate/", views.rate, name="rate"),
    path("<key:template_id>/submit/", views.submit, name="submit"),
    path("<key:template_id>/withdraw/", views.withdraw, name="withdraw"),
    path("<key:template_id>/moderate/<key:action>/", views.moderate, name="moderate"),
    path("<key:template_id>/unpublish/", views.confirm_unpublish, name="confirm_unpublish"),
]

# Mounted under /flows/ (dashboard/urls.py): a flow's template pages, owned by the marketplace.
flow_patterns = (
    [
        path("<key:flow_id>/template/", views.save_flow_as_template, name="save"),
        path("<key:flow_id>/template/update/", views.apply_flow_update, name="apply_update"),
    ],
    "flow_templates",
)
