"""The tenant admin's main task, by clicking only: from the overview to the executions behind last
month's biggest cost."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.site_tour import demo_people, demo_tables

pytestmark = pytest.mark.browser


def test_the_overview_leads_to_the_executions_behind_last_months_biggest_cost(page_as):
    with demo_tables():
        page = page_as(demo_people()["tenant admin"])
        page.goto("/")
        page.get_by_role("link", name="Open cost analytics →").click()
        expect(page).to_have_url(re.compile(r"/analytics/\?period=7$"))
        page.get_by_role("link", name="Last month").click()
        expect(page).to_have_url(re.compile(r"period=last-month"))
        biggest = page.locator("section[data-ranked=agent] tbody tr").first
        agent = biggest.locator("td").first.locator("a").inner_text()
        cost = biggest.locator("td").nth(1).inner_text()
        biggest.locator("td").first.locator("a").click()

        expect(page).to_have_url(re.compile(r"/analytics/executions/\?agent=.*&start=\d{4}-\d\d-01&end="))
        expect(page.locator("input[name=agent]")).to_have_value(agent)
        # The totals are those of the whole filtered set: the very cost the overview ranked first.
        expect(page.locator("#execution-totals [data-figure=cost] .stat-value")).to_have_text(cost)
        page.get_by_role("link", name="Cost", exact=True).click()
        expect(page).to_have_url(re.compile(r"sort=cost"))
        rows = page.locator("#executions-table tbody tr")
        expect(rows.first.locator("td").nth(1)).to_have_text(agent)
        costs = [
            float(text.strip().lstrip("$").replace(",", ""))
            for text in rows.locator("td:nth-child(8)").all_inner_texts()
        ]
        assert costs == sorted(costs, reverse=True) and costs[0] > 0
        rows.first.locator("a[data-execution]").click()  # the first cell also links the run's session
        expect(page.locator("h1")).to_contain_text("Execution")
        expect(page.get_by_role("link", name=agent).first).to_be_visible()
