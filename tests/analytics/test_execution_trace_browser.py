"""In the browser: an execution sent as an OpenTelemetry trace shows its steps, the failing one highlighted."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace.export import SpanExportResult
from playwright.sync_api import expect

from tests.analytics.conftest import slug
from tests.api.spans import exporter, record_agent_run

pytestmark = pytest.mark.browser


def test_the_execution_page_shows_the_traces_steps_and_the_failing_one(page_as, web_server, tenant, tmp_path):
    agent = slug("traced")
    spans = record_agent_run(agent, fail=True)
    assert exporter(web_server, tenant.token).export(spans) == SpanExportResult.SUCCESS
    agent_span = next(span for span in spans if span.name.startswith("invoke_agent"))
    execution_id = f"{agent_span.context.trace_id:032x}-{agent_span.context.span_id:016x}"

    page = page_as(tenant.admin)
    page.goto("/analytics/executions/")
    page.locator("#executions-table tbody tr", has_text=agent).locator("a").first.click()
    page.wait_for_url(f"**/analytics/executions/{execution_id}/")

    steps = page.get_by_test_id("steps")
    rows = steps.locator("tbody tr")
    expect(rows).to_have_count(4)
    names = [name.strip() for name in rows.locator("th").all_inner_texts()]
    assert [name.split("\n")[0] for name in names] == [
        f"agent invoke_agent {agent}",
        "model chat gpt-4o-mini",
        "tool execute_tool search_orders",
        "model chat gpt-4o",
    ]
    # the agent and the model call that raised are both marked failed; the call carries the error
    failing = rows.filter(has_text="chat gpt-4o").filter(has_text="rate limited")
    expect(failing).to_have_class("step step-model step-failed")
    expect(failing.locator(".step-error")).to_contain_text("RuntimeError: rate limited by the model provider")
    expect(page.get_by_role("alert")).to_contain_text("chat gpt-4o")
    expect(rows.filter(has_text="chat gpt-4o-mini")).to_contain_text("1,000")

    # the step totals are the execution's own figures
    detail = page.locator(".detail-grid")
    cost = detail.locator("div", has_text="Cost").locator("dd").inner_text().split(" ")[0]
    expect(steps.locator("[data-total=cost]")).to_have_text(cost)
    expect(steps.locator("[data-total=tokens_in]")).to_have_text(
        detail.locator("div", has_text="Tokens in").locator("dd").inner_text()
    )
    expect(steps.locator("[data-total=tokens_in]")).to_have_text("3,000")
    expect(steps.locator("[data-total=tokens_out]")).to_have_text("800")
    page.screenshot(path=str(tmp_path / "execution-steps.png"), full_page=True)
