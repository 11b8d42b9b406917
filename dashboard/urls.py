from django.urls import include, path

from dashboard.accounts import views as account_views
from dashboard.core import monitoring
from dashboard.dynamo import health
from dashboard.marketplace import urls as marketplace_urls
from dashboard.registry import urls as registry_urls

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", monitoring.metrics_view, name="metrics"),
    path("", include("dashboard.home.urls")),
    path("login/", account_views.login, name="login"),
    path("login/sso/", account_views.sso_start, name="sso_start"),
    path("login/sso/callback/", account_views.sso_callback, name="sso_callback"),
    path("login/code/", account_views.login_code, name="login_code"),
    path("login/passkey/", account_views.login_passkey, name="login_passkey"),
    path("login/passkey/options/", account_views.login_passkey_options, name="login_passkey_options"),
    path("logout/", account_views.logout, name="logout"),
    path(
        "invite/<key:invitation_id>/<str:secret>/", account_views.accept_invitation, name="accept_invitation"
    ),
    path(
        "invite/<key:invitation_id>/<str:secret>/sso/",
        account_views.accept_invitation_sso,
        name="accept_invitation_sso",
    ),
    path("account/operations/", include("dashboard.operations.urls")),
    path("account/audit/", include("dashboard.audit.urls")),
    path("account/api-keys/", include("dashboard.apikeys.urls")),
    path("account/", include("dashboard.accounts.urls")),
    path("templates/", include("dashboard.marketplace.urls")),
    path("models/", include("dashboard.registry.urls")),
    path("datasets/", include(registry_urls.dataset_patterns)),
    path("analytics/alerts/", include("dashboard.alerts.urls")),
    path("analytics/", include("dashboard.analytics.urls")),
    path("experiments/", include("dashboard.experiments.urls")),
    path("flows/", include(marketplace_urls.flow_patterns)),
    path("flows/", include("dashboard.flows.urls")),
    path("api/", include("dashboard.api.urls")),
]

handler403 = "dashboard.core.views.error_403"
handler404 = "dashboard.core.views.error_404"
handler500 = "dashboard.core.views.error_500"
