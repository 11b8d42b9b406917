"""Staff promote a version with a reason and roll it back, by clicking only (issue 16, done-when)."""

import pytest
from playwright.sync_api import expect

from dashboard.registry import services

pytestmark = pytest.mark.browser


def test_staff_promote_with_a_reason_and_roll_back(page_as, people, register, scopes):
    model = register(versions=("1.0.0", "1.1.0"))
    staff = scopes["staff@acme"]
    services.change_status(staff, model.model_id, "1.0.0", "deploying", "production", reason="first release")
    services.change_status(staff, model.model_id, "1.0.0", "deployed", reason="checks passed")
    services.change_status(staff, model.model_id, "1.1.0", "deploying", "staging")
    services.change_status(staff, model.model_id, "1.1.0", "deployed")
    page = page_as(people["staff"])
    page.goto(f"/models/{model.model_id}/")

    # Promote 1.1.0 from staging to production: the inline confirmation says what changes.
    row = page.locator('tr[data-version="1.1.0"]')
    row.get_by_role("button", name="Promote to production…").click()
    panel = page.locator("#confirm-panel")
    expect(panel).to_contain_text("Promote")
    expect(panel).to_contain_text("version 1.1.0 replaces version 1.0.0 in production")
    expect(panel).to_contain_text("of tenant Acme Robotics")
    # Without a reason the browser will not send it (the field is required); with one it goes.
    panel.get_by_label("Reason").fill("1.1.0 halves the p95 latency")
    panel.get_by_role("button", name="Promote").click()
    expect(page.locator(".flash-success")).to_contain_text("Deploying")
    page.locator('tr[data-version="1.1.0"]').get_by_role("link", name="Mark deployed…").click()
    panel = page.locator("#confirm-panel")
    panel.get_by_label("Reason").fill("smoke tests green")
    panel.get_by_role("button", name="Mark deployed").click()
    expect(page.locator('.env-box[data-env="production"]')).to_contain_text("1.1.0")
    expect(page.locator("#history")).to_contain_text("1.1.0 halves the p95 latency")

    # Roll back: 1.0.0 comes back, and the reason is in the history.
    page.locator('tr[data-version="1.1.0"]').get_by_role("link", name="Roll back…").click()
    panel = page.locator("#confirm-panel")
    expect(panel).to_contain_text("Version 1.0.0 replaces version 1.1.0 in production again.")
    panel.get_by_label("Reason").fill("wrong language in answers")
    panel.get_by_role("button", name="Roll back").click()
    expect(page.locator(".flash-success")).to_contain_text("1.0.0 is live again")
    expect(page.locator('.env-box[data-env="production"]')).to_contain_text("1.0.0")
    expect(page.locator("#history .history-row").first).to_contain_text("wrong language in answers")
