"""The audit trail in the browser: the next page swaps in place and the address follows."""

import pytest
from playwright.sync_api import expect

from tests.audit.test_audit import record_for
from tests.conftest import unique


@pytest.mark.browser
def test_in_the_browser_the_next_page_swaps_in_place_and_updates_the_url(page_as, people):
    from dashboard.accounts.services import create_tenant

    tenant = unique("tb").replace("_", "-")[:30]
    create_tenant(tenant, "Browser Paging Co")
    targets = [record_for(people["admin of acme"], tenant) for _ in range(52)]
    page = page_as(people["staff"])
    page.goto("/account/audit/")
    with page.expect_navigation():
        page.select_option("#tenant-switch", tenant)
    assert page.locator("#events tbody tr").count() == 50
    page.click("text=Next page →")
    page.wait_for_url("**cursor=**")
    expect(page.locator("#events tbody tr")).to_have_count(2)
    assert targets[0] in page.locator("#events").inner_text()
    assert page.locator("h1.page-title").count() == 1  # swapped in place, not a nested page
