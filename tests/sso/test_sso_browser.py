"""Single sign-on in the browser, against the real oidc-provider: the first sign-in creates the account."""

import pytest
from playwright.sync_api import expect

from dashboard.accounts import queries
from tests.conftest import unique


@pytest.mark.browser
def test_in_the_browser_a_person_signs_in_with_sso_and_gets_an_account(page_as, sso, settings):
    settings.OIDC_CREATE_USERS = True
    settings.OIDC_ROLE_CLAIM, settings.OIDC_TENANT_CLAIM = "dashboard_role", "dashboard_tenant"
    login = unique("globexsso").lower()
    page = page_as(None)
    page.goto("/login/")
    page.click("#sso")
    page.fill("input[name=login]", login)  # the provider's own (development) sign-in form
    page.fill("input[name=password]", "anything")
    page.click("button[type=submit]")
    expect(page.locator(".who")).to_contain_text(f"{login}@globex.test")
    user = queries.find_user_by_email(f"{login}@globex.test")
    assert (user.role, user.tenant_id) == ("tenant_admin", "globex")
