"""In the browser: "which agent drove last month's increase?" is answered by the page itself."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

import pytest
from playwright.sync_api import expect

from dashboard.core import clock
from dashboard.core.clock import iso_ms
from tests.analytics.conftest import run, slug

pytestmark = pytest.mark.browser


def _at(day) -> str:
    return iso_ms(datetime.combine(day, time(12, 0), tzinfo=clock.now().tzinfo))


def test_last_month_shows_the_agent_that_drove_the_increase_and_drills_down_in_that_month(page_as, tenant):
    first = clock.now().date().replace(day=1)
    last_month = (first - timedelta(days=1)).replace(day=10)
    month_before = (last_month.replace(day=1) - timedelta(days=1)).replace(day=10)
    steady, grower = slug("steady"), slug("grower")
    batches = {
        # steady: 4 runs each month, same cost; grower: 1 run before, 6 pricier runs last month.
        steady: [run(f"s{m}{n}", started_at=_at(day), tokens_in=1000) for m, day in enumerate((month_before, last_month)) for n in range(4)],
        grower: [run("g0", started_at=_at(month_before), tokens_in=1000)]
        + [run(f"g1{n}", started_at=_at(last_month), model="gpt-4o", tokens_in=20_000) for n in range(6)],
    }  # fmt: skip
    for agent, runs in batches.items():
        status, _ = tenant.post(agent, {"runs": runs})
        assert status == 201
    page = page_as(tenant.admin)
    page.goto("/analytics/?period=30")
    page.get_by_role("link", name="Last month").click()
    expect(page.locator(".period-summary")).to_contain_text("Last month")
    drivers = page.get_by_role("region", name="Drivers of the change")
    top = drivers.locator("tbody tr").first
    expect(top).to_have_attribute("data-driver", grower)
    expect(top.locator("td").nth(1)).to_contain_text("+")
    # The top agents table says it too: previous cost and the change.
    row = page.get_by_role("region", name="Top agents").locator("tr", has_text=grower)
    expect(row.locator("td").nth(3)).to_contain_text("+")
    top.get_by_role("link", name=grower).click()
    month_start = last_month.replace(day=1).isoformat()
    expect(page).to_have_url(re.compile(rf"agent={grower}&start={month_start}&end="))
    expect(page.locator("table")).to_contain_text("g10")
