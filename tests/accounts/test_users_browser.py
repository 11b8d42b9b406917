"""The people pages in the browser: staff add, disable, enable, rename and promote a person."""

import pytest

from dashboard.accounts import services
from tests.conftest import PASSWORD, unique


@pytest.mark.browser
def test_in_the_browser_staff_add_a_person(page_as, people):
    email = f"{unique('pw')}@globex.test"
    page = page_as(people["staff"])
    page.goto("/account/users/")
    page.fill("#id_email", email)
    page.fill("#id_name", "Paula Browser")
    page.select_option("#id_role", "tenant_admin")
    page.select_option("#id_tenant", "globex")
    page.fill("#id_password", PASSWORD)
    page.click("text=Add person")
    assert "can sign in now as Tenant admin" in page.locator(".flash").inner_text()
    assert page.locator("tr", has_text=email).locator(".badge").inner_text() == "active"


@pytest.mark.browser
def test_in_the_browser_staff_disable_and_enable_a_person(page_as, people):
    user = services.create_user(f"{unique('b')}@globex.test", PASSWORD, "tenant_admin", "globex")
    page = page_as(people["staff"])
    page.goto("/account/users/")
    page.locator("tr", has_text=user.email).locator("text=Disable").click()
    assert "cannot sign in until someone enables them again" in page.locator("main").inner_text()
    page.get_by_role("button", name=f"Disable {user.email}").click()
    assert "sessions have ended" in page.locator(".flash").inner_text()
    assert page.locator("tr", has_text=user.email).locator(".badge").inner_text() == "disabled"
    page.locator("tr", has_text=user.email).locator("text=Enable").click()
    assert page.locator("tr", has_text=user.email).locator(".badge").inner_text() == "active"


@pytest.mark.browser
def test_in_the_browser_staff_rename_and_promote_a_person(page_as, people):
    user = services.create_user(f"{unique('pr')}@globex.test", PASSWORD, "tenant_admin", "globex")
    page = page_as(people["staff"])
    page.goto("/account/users/")
    page.locator("tr", has_text=user.email).get_by_role(
        "link"
    ).first.click()  # the name; "Disable…" is a link too
    page.fill("#id_name", "Priya Promoted")
    page.select_option("#id_role", "staff")
    page.select_option("#id_tenant", "")
    page.click("text=Save")
    assert f"Saved {user.email}" in page.locator(".flash").inner_text()
    row = page.locator("section", has_text="Platform").locator("tr", has_text=user.email)
    assert "Priya Promoted" in row.inner_text() and "Staff" in row.inner_text()
