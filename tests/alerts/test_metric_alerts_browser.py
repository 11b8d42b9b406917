"""In the browser (issue #29): a metric rule created with the form, a test sent to Slack with its
result shown in place, and a budget request from the tenant admin's ask to staff's approval."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from dashboard.accounts.queries import get_tenant
from dashboard.alerts import queries, services
from dashboard.analytics.services import set_budget
from tests.alerts.conftest import STAFF_SCOPE, run

pytestmark = pytest.mark.browser


def test_a_tenant_admin_creates_a_metric_rule_and_sends_a_test_to_slack(page_as, tenant, receiver):
    services.save_channel(tenant.scope, None, "", "", None, slack_url=receiver.url)
    page = page_as(tenant.admin)
    page.goto("/analytics/alerts/")

    page.get_by_label("Name").fill("Support errors")
    page.get_by_label("Kind").select_option("metric")
    warning = page.get_by_label("Warning level")
    expect(warning).to_be_visible()
    expect(page.get_by_label("Thresholds (% of the monthly budget)")).to_be_hidden()
    page.get_by_label("Metric", exact=True).select_option("error_rate")
    page.get_by_label("Of", exact=True).select_option("agent")
    page.get_by_label("Agent, model, user, environment or tag").fill("support-bot")
    page.get_by_label("Over", exact=True).select_option("7d")
    warning.fill("5")
    page.get_by_label("Critical level").fill("2")  # below the warning: refused inline
    page.get_by_role("button", name="Create rule").click()
    expect(page.get_by_text("The critical level must be above the warning level.")).to_be_visible()
    expect(page.get_by_label("Warning level")).to_be_visible()  # the metric fields stay shown
    page.get_by_label("Critical level").fill("20")
    page.get_by_role("button", name="Create rule").click()
    table = page.locator("#rule-table")
    expect(table).to_contain_text("Error rate of agent support-bot over the last 7 days (rolling)")
    expect(table).to_contain_text("warning at 5.00 %, critical at 20.00 %")
    (rule,) = queries.rules(tenant.tenant_id)
    assert (int(rule.warning), int(rule.critical), rule.window) == (500, 2000, "7d")

    # Send a test: the receiver's answer shows beside the button, without leaving the page.
    page.get_by_role("button", name="Send a test to Slack").click()
    result = page.locator("#test-result-slack")
    expect(result).to_contain_text("delivered")
    expect(result).to_contain_text("HTTP 204")
    expect(page.get_by_role("button", name="Send a test to Microsoft Teams")).to_be_disabled()
    assert "[TEST]" in json.loads(receiver.received[0]["body"])["text"]


def test_a_budget_request_goes_from_the_admins_ask_to_staffs_approval(page_as, tenant, people):
    status, _ = tenant.post("probe", run(ago=timedelta(minutes=5)))
    assert status == 201
    set_budget(STAFF_SCOPE, tenant.tenant_id, 100_000_000, None)

    admin = page_as(tenant.admin)
    admin.goto("/analytics/")
    admin.locator("#budget-request-link").click()
    admin.wait_for_url("**/analytics/alerts/budget-requests/")
    admin.get_by_label("Monthly budget you need (USD)").fill("250")
    admin.get_by_label("Why").fill("Launch week: twice the traffic")
    admin.get_by_role("button", name="Send the request").click()
    expect(admin.locator("#budget-requests")).to_contain_text("waiting for staff")

    staff = page_as(people["staff"])
    staff.goto("/analytics/alerts/budget-requests/")
    item = staff.locator("#budget-queue li").filter(has_text="Launch week: twice the traffic")
    expect(item).to_contain_text("$250.00")
    item.get_by_label("New monthly budget (USD)").fill("200")
    item.get_by_label("Reason (required to refuse)").fill("200 covers the launch")
    item.get_by_role("button", name="Approve").click()
    expect(staff.get_by_text("No request is waiting.")).to_be_visible()
    assert get_tenant(tenant.tenant_id).monthly_budget_micro_usd == 200_000_000

    admin.reload()
    expect(admin.locator("#budget-requests")).to_contain_text("approved")
    expect(admin.locator("#budget-requests")).to_contain_text("$200.00 a month — 200 covers the launch")
    admin.goto("/analytics/alerts/notifications/")
    expect(admin.locator(".notifications li").first).to_contain_text("Budget increase approved")
