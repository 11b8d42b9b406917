"""The overview page in the browser: staff switch tenant from the top bar."""

import pytest
from playwright.sync_api import expect


@pytest.mark.browser
def test_in_the_browser_staff_switch_tenant_from_the_top_bar(page_as, people):
    page = page_as(people["staff"])
    page.goto("/")
    assert "every tenant" in page.locator(".lead").inner_text()
    page.select_option("#tenant-switch", "acme")
    expect(page.locator(".lead")).to_contain_text("acme")
    assert page.locator("text=Recent projects").count() == 1
