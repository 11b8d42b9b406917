"""Invitations in the browser: a tenant admin invites a colleague, who accepts and is signed in."""

import pytest

from dashboard.accounts import queries
from tests.conftest import unique


@pytest.mark.browser
def test_in_the_browser_an_invitation_is_sent_and_accepted(page_as, people):
    email = f"{unique('inv')}@acme.test"
    page = page_as(people["admin of acme"])
    page.goto("/account/invitations/")
    page.fill("#id_email", email)
    page.click("button:has-text('Invite')")
    link = page.input_value("#invitation-link")
    assert email in page.locator("#pending").inner_text()
    newcomer = page_as(None)
    newcomer.goto(link)
    newcomer.fill("#id_name", "Ines Invited")
    newcomer.fill("#id_password", "velvet-orchard-compass-7")
    newcomer.fill("#id_again", "velvet-orchard-compass-7")
    newcomer.click("text=Create my account")
    assert "Welcome, Ines Invited" in newcomer.locator(".flash").inner_text()
    assert queries.find_user_by_email(email).tenant_id == "acme"
