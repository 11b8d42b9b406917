"""Security headers on every answer: CSP without inline scripts, no framing, a Permissions-Policy."""

from __future__ import annotations

from django.test import Client


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    parsed = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def test_pages_carry_a_csp_without_inline_scripts(acme_admin):
    policy = directives(acme_admin.get("/templates/"))
    assert policy["script-src"][0] == "'self'"
    assert "'unsafe-inline'" not in policy["script-src"]
    assert policy["default-src"] == ["'self'"] and policy["object-src"] == ["'none'"]


def test_pages_carry_a_csp_without_eval(acme_admin):
    assert "'unsafe-eval'" not in directives(acme_admin.get("/templates/"))["script-src"]


def test_nothing_may_frame_the_dashboard(people):
    response = Client().get("/login/")
    assert directives(response)["frame-ancestors"] == ["'none'"]


def test_a_permissions_policy_turns_off_powerful_features(people):
    for response in (Client().get("/login/"), Client().get("/api/me")):
        policy = response["Permissions-Policy"]
        assert "camera=()" in policy and "microphone=()" in policy and "geolocation=()" in policy


def test_the_page_showing_a_new_api_key_is_never_cached(staff):
    response = staff.post("/account/api-keys/", {"tenant_id": "acme", "name": "no-store check"})
    assert response.status_code == 200 and b"dtk." in response.content
    assert "no-store" in response["Cache-Control"]


def test_the_page_showing_the_webhook_signing_secret_is_never_cached(acme_admin):
    response = acme_admin.get("/analytics/alerts/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
