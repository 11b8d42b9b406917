"""In the browser: the period picker swaps figures and chart through htmx; budgets save in place."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.analytics.conftest import run, slug
from tests.conftest import assert_chart_painted

pytestmark = pytest.mark.browser


@pytest.fixture
def history(tenant):
    agent = slug("support")
    tenant.post(agent, run("recent", model="gpt-4o", ago=timedelta(days=1)))
    tenant.post(agent, run("older", model="gpt-4o-mini", ago=timedelta(days=20)))
    return tenant


def _chart_total(page) -> str:
    return page.locator("#cost-chart").get_attribute("data-total")


def test_changing_the_period_updates_figures_and_chart(page_as, history):
    page = page_as(history.admin)
    page.goto("/analytics/?period=7")
    cost = page.locator("[data-figure=cost] .stat-value")
    runs = page.locator("[data-figure=executions] .stat-value")
    assert cost.inner_text() == "$0.0075"
    assert runs.inner_text() == "1"
    expect(page.locator("#cost-chart")).to_have_attribute("data-points", "7")
    assert_chart_painted(page, "cost-chart")
    assert _chart_total(page) == "7500"

    page.click(".period-picker >> text=30 days")
    page.wait_for_url("**/analytics/?period=30")
    expect(page.locator("#cost-chart")).to_have_attribute("data-points", "30")
    assert runs.inner_text() == "2"
    assert cost.inner_text() == "$0.0080"
    assert _chart_total(page) == "7950"
    assert page.locator(".period-summary").inner_text().startswith(history.tenant_id) is False
    assert "Last 30 days" in page.locator(".period-summary").inner_text()

    page.go_back()
    page.wait_for_url("**/analytics/?period=7")
    expect(page.locator("[data-figure=executions] .stat-value")).to_have_text("1")


def test_a_custom_range_applies_in_place(page_as, history):
    from dashboard.core import clock

    page = page_as(history.admin)
    page.goto("/analytics/?period=7")
    today = clock.now().date()
    page.fill("input[name=start]", (today - timedelta(days=25)).isoformat())
    page.fill("input[name=end]", today.isoformat())
    page.click(".period-custom button")
    expect(page.locator("#cost-chart")).to_have_attribute("data-points", "26")
    assert page.locator("[data-figure=executions] .stat-value").inner_text() == "2"


def test_a_budget_is_saved_in_place_and_the_warning_appears(page_as, history):
    page = page_as(history.admin)
    page.goto("/analytics/")
    assert "No budget set" in page.locator("#budget-card").inner_text()
    page.fill("input[name=budget]", "0.001")
    page.click("#budget-card button[type=submit]")
    page.locator("#budget-card .field-error").first.wait_for()
    page.fill("input[name=budget]", "0.01")
    page.click("#budget-card button[type=submit]")
    page.locator("#budget-card >> text=Saved").wait_for()
    assert "$0.01" in page.locator("[data-figure=budget]").inner_text()
    assert page.locator("#budget-card .badge-bad, #budget-card .badge-warn").count() == 1
