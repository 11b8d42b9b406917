"""The API keys page in Chromium: create a key with an expiry, copy it with the button, revoke after a question."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from dashboard.apikeys.models import ApiKey
from dashboard.core import clock
from tests.conftest import session_for
from tests.test_accessibility_browser import AXE, RUN_AXE, STRUCTURE, under_csp

pytestmark = pytest.mark.browser


def assert_accessible(page) -> None:
    page.add_script_tag(url=AXE)
    assert page.evaluate(RUN_AXE) == []
    assert page.evaluate(STRUCTURE) == []


def test_staff_create_a_key_with_an_expiry_copy_it_and_revoke_it_after_being_asked(
    page_as, people, web_server
):
    page = under_csp(page_as(people["staff"]))  # the site's strict CSP: no inline script
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=web_server)
    page.goto("/account/api-keys/")
    name = f"browser agent {id(page)}"
    expiry = (clock.now() + timedelta(days=30)).date()
    page.locator("#id_tenant_id").select_option("globex")
    page.locator("#id_name").fill(name)
    page.get_by_label("Expires on").fill(expiry.isoformat())
    page.get_by_role("button", name="Create key").click()

    token_box = page.locator("#new-token")
    expect(token_box).to_contain_text("dtk.key_")
    token = token_box.inner_text().strip()
    assert ApiKey.get(token.split(".")[1]).expires_on.date() == expiry
    assert Client().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200

    copy = page.get_by_role("button", name="Copy key")
    copy.click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    expect(page.locator("#live-status")).to_have_text("Copied")
    assert page.evaluate("() => navigator.clipboard.readText()") == token
    assert_accessible(page)

    row = page.locator("tr", has_text=name)
    expect(row).to_contain_text(expiry.strftime("%b %-d, %Y"))
    row.get_by_role("link", name=f"Revoke {name}").click()
    expect(page.get_by_role("heading", name=f"Revoke “{name}” of Globex Analytics?")).to_be_visible()
    assert Client().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200  # not yet
    assert_accessible(page)

    page.get_by_role("link", name="Keep it").click()
    expect(page.locator("tr", has_text=name).locator(".badge")).to_have_text("active")
    page.locator("tr", has_text=name).get_by_role("link", name=f"Revoke {name}").click()
    page.get_by_role("button", name="Revoke key").click()
    expect(page.locator(".flash")).to_contain_text("is revoked")
    expect(page.locator("tr", has_text=name).locator(".badge")).to_have_text("revoked")
    assert Client().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_without_javascript_the_key_is_shown_and_no_dead_copy_button_appears(browser, web_server, people):
    context = browser.new_context(base_url=web_server, java_script_enabled=False)
    try:
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session_for(people["staff"]), "url": web_server}]
        )
        page = context.new_page()
        page.goto("/account/api-keys/")
        page.locator("#id_name").fill(f"no-js agent {id(page)}")
        page.get_by_role("button", name="Create key").click()
        expect(page.locator("#new-token")).to_contain_text("dtk.key_")
        expect(page.locator("[data-copy-target]")).to_be_hidden()
    finally:
        context.close()
