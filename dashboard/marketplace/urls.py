from django.urls import path

from dashboard.marketplace import views

app_name = "marketplace"

urlpatterns = [
    path("", views.browse, name="browse"),
    path("new/", views.create, name="create"),
    path("moderation/", views.queue, name="queue"),
    path("<str:template_id>/", views.detail, name="detail"),
    path("<str:template_id>/edit/", views.edit, name="edit"),
    path("<str:template_id>/delete/", views.delete, name="delete"),
    path("<str:template_id>/use/", views.use, name="use"),
    path("<str:template_id>/rate/", views.rate, name="rate"),
    path("<str:template_id>/submit/", views.submit, name="submit"),
    path("<str:template_id>/withdraw/", views.withdraw, name="withdraw"),
    path("<str:template_id>/moderate/<str:action>/", views.moderate, name="moderate"),
]
