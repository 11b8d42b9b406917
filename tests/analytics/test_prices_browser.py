"""In the browser, as staff: an unpriced model on a tenant's overview is priced and its past re-priced."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from dashboard.analytics import repricing
from dashboard.core import clock
from tests.analytics.conftest import run, slug

pytestmark = pytest.mark.browser


def test_staff_price_an_unpriced_model_from_the_overview_and_re_price_its_past(
    page_as, people, tenant, settings
):
    settings.PRICES_CACHE_SECONDS = 0  # the server runs in this process: no other cache to wait for
    model = slug("home-grown")
    status, _ = tenant.post(
        slug("agent"),
        {
            "runs": [
                run("p1", model=model, ago=timedelta(days=1)),
                run("p2", model=model, ago=timedelta(days=1)),
            ]
        },
    )
    assert status == 201
    page = page_as(people["staff"])
    page.goto(f"/analytics/?tenant={tenant.tenant_id}")
    notice = page.get_by_test_id("unpriced-models")
    expect(notice).to_contain_text(model)
    expect(notice).to_contain_text("2 executions")
    notice.get_by_role("link", name="Add a price").click()
    form = page.locator("#price-form")
    expect(form.get_by_label("Model", exact=True)).to_have_value(model)
    form.get_by_label("From").fill((clock.now() - timedelta(days=3)).date().isoformat())
    form.get_by_label("Input", exact=True).fill("1")
    form.get_by_label("Output", exact=True).fill("2")
    form.get_by_role("button", name="Save price").click()
    expect(page.get_by_test_id("prices")).to_contain_text(model)
    expect(page.get_by_test_id("pending-change").first).to_be_visible()
    reprice = page.locator("#reprice")
    reprice.get_by_label("Tenant").select_option(tenant.tenant_id)
    reprice.get_by_role("button", name="Re-price").click()
    row = page.get_by_test_id("runs").locator("tbody tr").first
    expect(row).to_have_attribute("data-status", "queued")
    repricing.run_queued()  # the background worker's turn (under `make run`, a loop in the server)
    expect(row).to_have_attribute("data-status", "done", timeout=30_000)  # the row polls until it ends
    expect(row).to_contain_text("2 of 2")
    page.goto(f"/analytics/?tenant={tenant.tenant_id}")
    expect(page.get_by_test_id("unpriced-models")).to_have_count(0)
    expect(page.locator('[data-figure="cost"] .stat-value')).to_have_text("$0.0040")
