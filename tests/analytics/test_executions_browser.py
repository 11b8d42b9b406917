"""In the browser: filter the execution history, page on, open an execution."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.analytics.conftest import run, slug

pytestmark = pytest.mark.browser


def test_filter_history_and_open_an_execution(page_as, tenant):
    agent = slug("agent")
    tenant.post(agent, {"runs": [run(f"ok{n:02d}", ago=timedelta(minutes=n + 5)) for n in range(24)]})
    tenant.post(
        agent, {"runs": [run("broken", status="failed", error="Upstream said no", ago=timedelta(minutes=1))]}
    )
    tenant.post(agent, {"runs": [run("late", ago=timedelta(hours=3))]})
    page = page_as(tenant.admin)
    page.goto("/analytics/executions/")
    rows = page.locator("#executions-table tbody tr")
    assert rows.count() == 25
    page.click("#executions-table >> text=Next page")
    expect(page.locator("#executions-table tbody tr")).to_have_count(1)
    assert "late" in rows.first.inner_text()

    page.goto("/analytics/executions/")
    page.select_option("select[name=status]", "failed")
    page.wait_for_url("**status=failed**")
    expect(page.locator("#executions-table tbody tr")).to_have_count(1)
    assert "broken" in rows.first.inner_text()
    rows.first.locator("a[data-execution]").click()
    page.wait_for_url("**/analytics/executions/broken/")
    assert "Upstream said no" in page.locator(".error-box").inner_text()
