"""In the browser: "what does a conversation with agent X cost?" is answered from X's history, one
click away: the session page with the conversation's total, its turns in order and what failed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from dashboard.analytics.queries import get_execution
from dashboard.core.money import money
from tests.analytics.conftest import run, slug

pytestmark = pytest.mark.browser


def test_a_conversation_with_an_agent_costs_what_its_session_page_says(page_as, tenant):
    agent = slug("concierge")
    turns = [
        run(ago=timedelta(minutes=50), session_id="conv-42", tokens_in=1200, tokens_out=300),
        run(ago=timedelta(minutes=40), session_id="conv-42", model="gpt-4o", tokens_in=6000, tokens_out=900),
        run(ago=timedelta(minutes=30), session_id="conv-42", status="failed", error="Upstream 502"),
    ]
    assert tenant.post(agent, {"runs": turns})[0] == 201
    assert (
        tenant.post(agent, run(ago=timedelta(minutes=20), session_id="conv-43", tokens_in=90_000))[0] == 201
    )
    cost = sum(int(get_execution(tenant.scope, turn["execution_id"]).cost_micro_usd) for turn in turns)

    page = page_as(tenant.admin)
    page.goto(f"/analytics/executions/?agent={agent}")
    row = page.locator("#executions-table tbody tr", has_text=turns[0]["execution_id"])
    row.get_by_role("link", name="conv-42").click()

    expect(page.locator("h1")).to_contain_text("conv-42")
    totals = page.get_by_label("Totals of the session")
    expect(totals.locator('[data-figure="cost"]')).to_contain_text(money(cost))
    expect(totals.locator('[data-figure="runs"]')).to_contain_text("3")
    expect(totals.locator('[data-figure="failures"]')).to_contain_text("1")
    rows = page.get_by_role("region", name="Executions of the session").locator("tbody tr")
    expect(rows).to_have_count(3)
    for position, turn in enumerate(turns):
        expect(rows.nth(position)).to_have_attribute("data-row", turn["execution_id"])
    # What failed is one click away.
    page.locator("#session-failures").get_by_role("link").first.click()
    expect(page.locator(".error-box")).to_contain_text("Upstream 502")
