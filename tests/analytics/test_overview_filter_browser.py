"""In the browser: "what did production cost last month" — the overview's environment filter swaps
every figure in place through htmx, and the figure is the seeded truth."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from dashboard.core import clock
from dashboard.core.money import money
from tests.analytics.conftest import raw_executions, run, slug

pytestmark = pytest.mark.browser


def test_what_did_production_cost_last_month(page_as, tenant):
    today = clock.now().date()
    into_last_month = (today - today.replace(day=1)).days + 1  # days back to the last day of last month
    agent = slug("support")
    runs = [
        run("prod-1", environment="production", tokens_in=5000, ago=timedelta(days=into_last_month + 3)),
        run("prod-2", environment="production", model="gpt-4o", ago=timedelta(days=into_last_month + 10)),
        run("stage-1", environment="staging", tokens_in=20000, ago=timedelta(days=into_last_month + 4)),
        run("plain-1", ago=timedelta(days=into_last_month + 5)),
        run("prod-now", environment="production", ago=timedelta(hours=1)),  # this month: not counted
    ]
    assert tenant.post(agent, {"runs": runs})[0] == 201
    last_month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    truth = sum(
        int(e.cost_micro_usd)
        for e in raw_executions(tenant.tenant_id)
        if e.environment == "production" and e.started_at.startswith(last_month)
    )
    everything = sum(
        int(e.cost_micro_usd) for e in raw_executions(tenant.tenant_id) if e.started_at.startswith(last_month)
    )
    assert 0 < truth < everything

    page = page_as(tenant.admin)
    page.goto("/analytics/?period=last-month")
    cost = page.locator("[data-figure=cost] .stat-value")
    expect(cost).to_have_text(money(everything))
    page.evaluate("() => { window.notReloaded = true; }")  # gone if the page were loaded anew

    page.select_option("#overview-environment", "production")
    page.click("[data-testid=overview-filter] button[type=submit]")
    page.wait_for_url("**environment=production**")
    expect(page.locator("[data-testid=filter-notice]")).to_contain_text("production")
    expect(cost).to_have_text(money(truth))
    expect(page.locator("[data-figure=executions] .stat-value")).to_have_text("2")
    assert page.evaluate("() => window.notReloaded") is True  # swapped by htmx, not reloaded
    assert page.locator("#budget-card").count() == 0  # the tenant's budget: not split by environment
    expect(page.locator("#overview-environment")).to_have_value("production")

    page.click("[data-testid=filter-notice] >> text=Clear the filter")
    expect(cost).to_have_text(money(everything))
    expect(page.locator("#budget-card")).to_be_visible()
