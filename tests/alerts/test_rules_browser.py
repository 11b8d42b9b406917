"""In the browser: from cost analytics to the rules page, a rule created with the form, and the alert
it fires shown in the notification list with the sidebar's unread count."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from dashboard.analytics.services import set_budget
from tests.alerts.conftest import STAFF_SCOPE, run

pytestmark = pytest.mark.browser


def test_a_tenant_admin_creates_a_rule_and_sees_its_alert(page_as, tenant, tmp_path):
    status, body = tenant.post("probe-agent", run(ago=timedelta(minutes=5)))
    assert status == 201
    set_budget(STAFF_SCOPE, tenant.tenant_id, body["runs"][0]["cost_micro_usd"] * 3, None)

    page = page_as(tenant.admin)
    page.goto("/analytics/")
    page.locator("#alert-rules-link").click()
    page.wait_for_url("**/analytics/alerts/")
    expect(page.get_by_text("No alert rules yet.")).to_be_visible()

    # Only the fields of the chosen kind show.
    thresholds = page.get_by_label("Thresholds (% of the monthly budget)")
    limit = page.get_by_label("Limit (USD)")
    page.get_by_label("Kind").select_option("forecast")
    expect(thresholds).to_be_hidden()
    expect(limit).to_be_hidden()
    page.get_by_label("Kind").select_option("agent_spend")
    expect(limit).to_be_visible()
    expect(thresholds).to_be_hidden()
    # The checkbox sits at the start of its field, on its label's line (not floating mid-card).
    box = page.locator("#rule-form #id_enabled").bounding_box()
    label = page.locator("#rule-form label[for=id_enabled]").bounding_box()
    name = page.locator("#rule-form #id_name").bounding_box()
    assert abs(box["x"] - name["x"]) < 4
    assert label["y"] <= box["y"] + box["height"] / 2 <= label["y"] + label["height"]

    page.get_by_label("Name").fill("Half the budget")
    page.get_by_label("Kind").select_option("budget")
    expect(limit).to_be_hidden()
    page.get_by_label("Thresholds (% of the monthly budget)").fill("50, 100")
    page.get_by_role("button", name="Create rule").click()
    expect(page.locator("#rule-table")).to_contain_text("Half the budget")
    expect(page.locator("#rule-table")).to_contain_text("50 %, 100 % of the monthly budget")

    # A spend rule without its limit is refused inline.
    page.get_by_label("Name").fill("Per user")
    page.get_by_label("Kind").select_option("user_spend")
    page.get_by_role("button", name="Create rule").click()
    expect(page.get_by_text("A spend rule needs a limit in dollars.")).to_be_visible()
    expect(limit).to_be_visible()  # the page that comes back shows the kind chosen
    expect(thresholds).to_be_hidden()

    # The next run takes spend to 2/3 of the budget: 50 % fires.
    assert tenant.post("probe-agent", run(ago=timedelta(minutes=4)))[0] == 201
    page.goto("/analytics/alerts/")
    badge = page.locator("#unread-badge")
    expect(badge).to_have_text("1 unread")
    expect(page.locator("#delivery-log")).to_contain_text("notification: delivered")
    badge.click()
    page.wait_for_url("**/analytics/alerts/notifications/")
    expect(page.locator("#unread-count")).to_have_text("1 unread")
    expect(page.locator(".notifications li")).to_have_count(1)
    expect(page.locator(".notifications li")).to_contain_text("50 % of the budget")
    page.get_by_role("button", name="Mark all as read").click()
    expect(page.locator("#unread-count")).to_have_text("0 unread")
    page.screenshot(path=str(tmp_path / "notifications.png"))
