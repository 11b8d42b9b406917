"""The tables page in the browser: staff reach it from the sidebar."""

import pytest


@pytest.mark.browser
def test_in_the_browser_staff_open_the_tables_page_from_the_sidebar(page_as, people):
    page = page_as(people["staff"])
    page.goto("/")
    page.click("nav >> text=Tables")
    page.wait_for_url("**/account/tables/")
    assert page.locator("tbody tr").count() >= 20
    assert "agent-execution-history" in page.locator("table").inner_text()
