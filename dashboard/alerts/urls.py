from django.urls import path

from dashboard.alerts import views

app_name = "alerts"

urlpatterns = [
    path("", views.rules, name="rules"),
    path("rules/new", views.create, name="create"),
    path("rules/<key:rule_id>/", views.edit, name="edit"),
    path("delivery", views.channel, name="channel"),
    path("delivery/test/<key:channel_name>", views.send_test, name="send_test"),
    path("delivery/confirm-again", views.confirm_again, name="confirm_again"),
    path("confirm/<str:token>/", views.confirm_email, name="confirm_email"),
    path("budget-requests/", views.budget_requests, name="budget_requests"),
    path("budget-requests/ask", views.ask_budget, name="ask_budget"),
    path(
        "budget-requests/<key:tenant_id>/<key:request_id>/decide", views.decide_budget, name="decide_budget"
    ),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read", views.read_all, name="read_all"),
    path("notifications/badge", views.unread_badge, name="unread_badge"),
]
