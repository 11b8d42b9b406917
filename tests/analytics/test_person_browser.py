"""In the browser: "what does this end user cost us?" from the overview's top users to their page,
whose chart draws every day of the period and whose total is the sum of their runs."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from dashboard.analytics.queries import get_execution
from dashboard.core.money import money
from tests.analytics.conftest import run

pytestmark = pytest.mark.browser


def test_the_top_user_opens_their_page_with_their_cost_by_day(page_as, tenant):
    runs = [
        run(ago=timedelta(days=3), user_id="whale", tokens_in=80_000, session_id="whale-1"),
        run(ago=timedelta(days=1), user_id="whale", tokens_in=60_000, status="failed", error="boom"),
        run(ago=timedelta(hours=2), user_id="minnow", tokens_in=100),
    ]
    assert tenant.post("helper", {"runs": runs})[0] == 201
    cost = sum(int(get_execution(tenant.scope, r["execution_id"]).cost_micro_usd) for r in runs[:2])

    page = page_as(tenant.admin)
    page.goto("/analytics/?period=30")
    page.get_by_role("region", name="Top users").get_by_role("link", name="whale").click()

    expect(page).to_have_url(re.compile(r"/analytics/people/whale/\?start="))
    totals = page.get_by_label("Totals of the person over the period")
    expect(totals.locator('[data-figure="cost"]')).to_contain_text(money(cost))
    expect(totals.locator('[data-figure="failures"]')).to_contain_text("1")
    chart = page.locator("#person-chart")
    expect(chart).to_have_attribute("data-points", "30")
    expect(chart).to_have_attribute("data-total", str(cost))
    expect(page.locator("#person-days tbody tr")).to_have_count(2)
    page.locator("#person-sessions").get_by_role("link", name="whale-1").click()
    expect(page.locator("h1")).to_contain_text("whale-1")
