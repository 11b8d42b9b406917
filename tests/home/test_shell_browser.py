import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_a_person_signs_in_navigates_and_signs_out(page_as, people):
    page = page_as(None)
    page.goto("/")
    page.fill("input[name=email]", "admin@acme.test")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/")
    assert page.locator(".page-title").inner_text() == "Overview"
    assert page.locator(".tenant-chip").inner_text() == "acme"
    # The tab shows the product's icon: a small SVG linked from every page.
    icon = page.locator("head link[rel=icon]").get_attribute("href")
    response = page.request.get(icon)
    assert response.status == 200 and response.headers["content-type"].startswith("image/svg+xml")
    page.click("nav >> text=Audit trail")
    page.wait_for_url("**/account/audit/")
    assert page.locator(".page-title").inner_text() == "Audit trail"
    page.click("text=Sign out")
    page.wait_for_url("**/login/")
    assert page.locator("h1").inner_text() == "Sign in to the dashboard"
