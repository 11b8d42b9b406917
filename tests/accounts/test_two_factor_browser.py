"""The second factor in the browser: enrol an authenticator app, then sign in with its code."""

from datetime import timedelta

import pyotp
import pytest
from playwright.sync_api import expect

from dashboard.accounts import services
from dashboard.core import clock
from tests.conftest import PASSWORD, unique


@pytest.mark.browser
def test_in_the_browser_a_person_enrols_and_signs_in_with_a_code(page_as, people):
    user = services.create_user(f"{unique('tf')}@globex.test", PASSWORD, "tenant_admin", "globex")
    page = page_as(user)
    page.goto("/account/me/")
    page.click("text=Second factor: off")
    assert page.locator(".qr svg").is_visible()
    secret = page.inner_text("#totp-secret").replace(" ", "")
    totp = pyotp.TOTP(secret)
    page.fill(
        "#id_code", totp.at(clock.now() - timedelta(seconds=30))
    )  # last step: the next sign-in uses now's
    page.click("button:has-text('Turn on')")
    expect(page.locator("#recovery-codes code")).to_have_count(services.RECOVERY_CODES)
    page.click("text=I have kept them")
    page.click("button:has-text('Sign out')")
    page.fill("#id_email", user.email)
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Sign in')")
    expect(page.locator("h1")).to_have_text("Your second factor")
    page.fill("#id_code", totp.now())
    page.click("button:has-text('Sign in')")
    expect(page.locator(".who")).to_contain_text(user.email)
