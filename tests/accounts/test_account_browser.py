"""The own-account page in the browser: a person changes their password."""

import pytest
from django.contrib.auth.hashers import check_password

from dashboard.accounts import queries, services
from tests.conftest import PASSWORD, unique


@pytest.mark.browser
def test_in_the_browser_a_person_changes_their_own_password(page_as, people):
    user = services.create_user(f"{unique('me')}@globex.test", PASSWORD, "tenant_admin", "globex")
    page = page_as(user)
    page.goto("/")
    page.click(".who a")  # the person's name leads to their account
    page.fill("#id_current", PASSWORD)
    page.fill("#id_new", "plum-kettle-harbour-42")
    page.fill("#id_again", "plum-kettle-harbour-42")
    page.click("button:has-text('Change password')")
    assert "Your password is changed" in page.locator(".flash").inner_text()
    assert check_password("plum-kettle-harbour-42", queries.get_user(user.user_id).password)
