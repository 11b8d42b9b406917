"""In the browser: the period picker swaps figures and chart through htmx; budgets save in place."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from dashboard.core.money import money
from tests.analytics.conftest import run, slug
from tests.conftest import assert_chart_painted

pytestmark = pytest.mark.browser


@pytest.fixture
def history(tenant):
    agent = slug("support")
    tenant.post(agent, run("recent", model="gpt-4o", ago=timedelta(days=1), session_id="conv-browser"))
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
    assert_chart_painted(page, "cost-chart")  # the restored page's chart is drawn again

    # The top sessions: the conversation's cost, and a click opens its session page.
    session = page.locator("[data-ranked=session] tbody tr", has_text="conv-browser")
    expect(session).to_contain_text("$0.0075")
    session.get_by_role("link", name="conv-browser").click()
    page.wait_for_url("**/analytics/sessions/conv-browser/")
    expect(page.locator("[data-figure=cost] .stat-value")).to_have_text("$0.0075")


# Where on the page the middle of a bar of the cost chart is: the first day with a cost.
BAR = """() => {
    const chart = Chart.getChart('cost-chart');
    const index = chart.data.datasets[0].data.findIndex((value) => value > 0);
    const bar = chart.getDatasetMeta(0).data[index];
    const box = chart.canvas.getBoundingClientRect();
    return {day: chart.data.labels[index], x: box.left + bar.x, y: box.top + (bar.y + bar.base) / 2};
}"""


def test_the_charts_money_is_the_servers_on_the_axis_and_in_the_tooltip(page_as, history):
    page = page_as(history.admin)
    page.goto("/analytics/?period=7")
    assert_chart_painted(page, "cost-chart")
    amounts = [0, 1, 4.9, -0.5, 5, 99, 100, 125, 999, 1000, 1050, 7500, 9949, 9950, 9999, 10_000, 15_000, 25_000,
               125_000, 375_000, 625_000, 1_234_567, 1_000_125_000, 1_234_567_890, -2_000_000, -7500, -125]  # fmt: skip
    assert page.evaluate("(amounts) => amounts.map((amount) => DashboardCharts.money(amount))", amounts) == [
        money(amount) for amount in amounts
    ]
    ticks = page.evaluate("() => Chart.getChart('cost-chart').scales.y.ticks.map((t) => [t.value, t.label])")
    assert len(ticks) > 1 and all(label == money(value) for value, label in ticks)
    page.locator("#cost-chart").scroll_into_view_if_needed()  # below the toolbar's filters on a short window
    bar = page.evaluate(BAR)
    page.mouse.move(bar["x"], bar["y"])
    page.wait_for_function("() => Chart.getChart('cost-chart').tooltip.getActiveElements().length > 0")
    lines = page.evaluate("() => Chart.getChart('cost-chart').tooltip.body.flatMap((part) => part.lines)")
    assert lines == ["gpt-4o: $0.0075"]


def test_a_click_on_a_bar_opens_its_executions(page_as, history):
    page = page_as(history.admin)
    page.goto("/analytics/?period=7")
    assert_chart_painted(page, "cost-chart")
    page.locator("#cost-chart").scroll_into_view_if_needed()  # below the toolbar's filters on a short window
    bar = page.evaluate(BAR)
    page.mouse.click(bar["x"], bar["y"])
    page.wait_for_url("**/analytics/executions/**")
    query = parse_qs(urlsplit(page.url).query)
    assert query == {"start": [bar["day"]], "end": [bar["day"]], "model": ["gpt-4o"]}


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
