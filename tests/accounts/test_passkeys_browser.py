"""Passkeys in the browser, with Chromium's virtual authenticator (DevTools protocol): register one on
the account page, sign out, sign in with the password and then the passkey."""

import pytest
from playwright.sync_api import expect

from dashboard.accounts import queries, services
from tests.conftest import PASSWORD, unique


@pytest.mark.browser
def test_in_the_browser_a_person_registers_a_passkey_and_signs_in_with_it(browser, web_server, people):
    user = services.create_user(f"{unique('pk')}@globex.test", PASSWORD, "tenant_admin", "globex")
    # A relying party id must be a domain: browsers refuse 127.0.0.1, and localhost is a secure context.
    base_url = web_server.replace("127.0.0.1", "localhost")
    context = browser.new_context(base_url=base_url, viewport={"width": 1360, "height": 900})
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        cdp = page.context.new_cdp_session(page)
        cdp.send("WebAuthn.enable")
        cdp.send(
            "WebAuthn.addVirtualAuthenticator",
            {
                "options": {
                    "protocol": "ctap2",
                    "transport": "internal",
                    "hasResidentKey": True,
                    "hasUserVerification": True,
                    "isUserVerified": True,
                }
            },
        )
        errors = []
        page.on("console", lambda message: message.type == "error" and errors.append(message.text))

        def sign_in_with_password():
            page.goto("/login/")
            page.fill("#id_email", user.email)
            page.fill("#id_password", PASSWORD)
            page.click("button:has-text('Sign in')")

        sign_in_with_password()
        expect(page.locator(".who")).to_contain_text(user.email)  # no second factor yet
        page.goto("/account/me/")
        page.fill("#id_name", "Virtual key")
        page.click("button:has-text('Add a passkey')")
        expect(page.locator("#passkey-list")).to_contain_text("Virtual key")
        assert [passkey.name for passkey in queries.passkeys_of(user.user_id)] == ["Virtual key"]

        page.click("button:has-text('Sign out')")
        sign_in_with_password()
        expect(page.locator("h1")).to_have_text("Your second factor")
        page.click("button:has-text('Use a passkey')")
        expect(page.locator(".who")).to_contain_text(user.email)
        (passkey,) = queries.passkeys_of(user.user_id)
        assert passkey.sign_count >= 1 and passkey.last_used_at is not None
        assert not [text for text in errors if "Content Security Policy" in text]
    finally:
        context.close()
