from django.urls import path

from dashboard.accounts import views

app_name = "accounts"

urlpatterns = [
    path("me/", views.account, name="account"),
    path("me/two-factor/", views.two_factor, name="two_factor"),
    path("me/passkeys/", views.passkey_add, name="passkey_add"),
    path("me/passkeys/options/", views.passkey_options, name="passkey_options"),
    path("me/passkeys/<slug:credential_id>/remove/", views.passkey_remove, name="passkey_remove"),
    path("sign-in-policy/", views.sign_in_policy, name="sign_in_policy"),
    path("me/password/", views.account_password, name="account_password"),
    path("me/sessions/end-others/", views.account_end_other_sessions, name="account_end_other_sessions"),
    path("me/sessions/<slug:ref>/end/", views.account_end_session, name="account_end_session"),
    path("invitations/", views.invitations, name="invitations"),
    path("invitations/<key:invitation_id>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("tenant/", views.switch_tenant, name="switch_tenant"),
    path("tables/", views.tables, name="tables"),
    path("retention/", views.retention, name="retention"),
    path("users/", views.users, name="users"),
    path("users/<key:user_id>/", views.user_edit, name="user_edit"),
    path("users/<key:user_id>/active/", views.user_set_active, name="user_set_active"),
    path("users/<key:user_id>/sign-out/", views.user_sign_out, name="user_sign_out"),
]
