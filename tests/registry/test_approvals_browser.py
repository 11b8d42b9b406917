"""A tenant admin asks to deploy to protected production, staff approve, the pipeline's outcome is
marked and production serves the version: request → approve → deployed, by clicking only."""

import re

import pytest
from playwright.sync_api import expect

from dashboard.registry import services
from dashboard.registry.models import RegistryPolicy

pytestmark = pytest.mark.browser


@pytest.fixture
def protected(scopes):
    services.save_policy(
        scopes["acme"], {"protected_environments": ["production"], "requesters": ["tenant_admin"]}
    )
    yield
    RegistryPolicy.get("acme").delete()


def test_request_approve_deployed(page_as, people, register, protected):
    model = register(versions=("1.0.0", "1.1.0"))
    ada = page_as(people["admin of acme"])
    ada.goto(f"/models/{model.model_id}/")
    expect(ada.locator('.env-box[data-env="production"]')).to_contain_text("protected")
    ada.locator('tr[data-version="1.1.0"]').get_by_role("button", name="Deploy to production…").click()
    panel = ada.locator("#confirm-panel")
    expect(panel).to_contain_text("is protected: this sends a change request")
    panel.get_by_label("Reason").fill("accuracy up a point on the holdout")
    panel.get_by_role("button", name="Ask to deploy").click()
    expect(ada).to_have_url(re.compile(r"/models/approvals/$"))
    expect(ada.locator(".flash-success")).to_contain_text("waits for another person")
    card = ada.locator(".change-request", has_text=model.name)
    expect(card).to_contain_text("You asked for this change")
    expect(card.locator(".evidence-table")).to_contain_text("accuracy")

    staff = page_as(people["staff"], _tenant_focus="acme")
    staff.goto("/models/approvals/")
    card = staff.locator(".change-request", has_text=model.name)
    expect(card).to_contain_text("Asked by admin@acme.test")
    card.get_by_label("Reason").fill("holdout numbers checked")
    card.get_by_role("button", name="Approve").click()
    expect(staff.locator(".flash-success")).to_contain_text("Approved")
    expect(staff.locator("#decided")).to_contain_text("holdout numbers checked")

    staff.goto(f"/models/{model.model_id}/")
    staff.locator('tr[data-version="1.1.0"]').get_by_role("link", name="Mark deployed…").click()
    panel = staff.locator("#confirm-panel")
    panel.get_by_label("Reason").fill("smoke tests green")
    panel.get_by_role("button", name="Mark deployed").click()
    expect(staff.locator('.env-box[data-env="production"]')).to_contain_text("1.1.0")
