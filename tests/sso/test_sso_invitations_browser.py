"""An invitation accepted through single sign-on in the browser, against the real oidc-provider."""

import pytest
from playwright.sync_api import expect

from dashboard.accounts import queries
from tests.conftest import unique


@pytest.mark.browser
def test_in_the_browser_an_invitee_continues_with_sso_into_the_inviters_tenant(
    page_as, sso, settings, people
):
    settings.OIDC_PROVIDER_NAME = "Acme ID"
    login = unique("ssoinvitee").lower()
    email = f"{login}@acme.test"  # the address the test provider gives this login, verified
    admin = page_as(people["admin of acme"])
    admin.goto("/account/invitations/")
    admin.fill("#id_email", email)
    admin.click("button:has-text('Invite')")
    link = admin.input_value("#invitation-link")
    invitee = page_as(None)
    invitee.goto(link)
    expect(invitee.locator("#sso")).to_have_text("Continue with Acme ID")
    invitee.click("#sso")
    invitee.fill("input[name=login]", login)  # the provider's own (development) sign-in form
    invitee.fill("input[name=password]", "anything")
    invitee.click("button[type=submit]")
    expect(invitee.locator(".flash")).to_contain_text("your account is ready")
    expect(invitee.locator(".who")).to_contain_text(email)
    expect(invitee.locator(".who .badge-role")).to_have_text("Tenant admin")
    expect(invitee.locator(".tenant-chip")).to_have_text("acme")
    user = queries.find_user_by_email(email)
    assert (user.role, user.tenant_id, user.sso_subject) == (
        "tenant_admin",
        "acme",
        f"{sso['issuer']}#{login}",
    )
    admin.goto("/account/invitations/")
    expect(admin.locator("#pending")).not_to_contain_text(email)
