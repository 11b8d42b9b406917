"""A moderator works the queue by clicking only: three approved at once, one rejected with a canned reason."""

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from dashboard.core import clock
from dashboard.marketplace.moderation import CANNED_REASONS

pytestmark = pytest.mark.browser


def test_a_moderator_bulk_approves_three_and_rejects_one_with_a_canned_reason(
    page_as, people, make_template, monkeypatch
):
    # Submitted "long ago", so these four are the oldest in the shared queue: on its first page.
    moments = iter(datetime(2020, 1, 1, tzinfo=UTC) + timedelta(seconds=i) for i in range(100))
    monkeypatch.setattr(clock, "now", lambda: next(moments))
    approve = [make_template(owner, state="pending") for owner in ("acme", "globex", "acme")]
    reject = make_template("globex", state="pending")
    monkeypatch.undo()

    page = page_as(people["moderator"])
    page.goto("/templates/")
    page.get_by_role("link", name="Moderation").click()
    expect(page.locator("#pending-badge")).to_contain_text("waiting")
    for template in approve:
        page.get_by_label(f"Select {template.name}").check()
    page.get_by_role("button", name="Approve selected").click()
    expect(page.locator(".flash-success")).to_contain_text("Approved 3 templates")
    for template in approve:
        expect(page.locator(f"#row-{template.template_id}")).to_have_count(0)

    page.get_by_label(f"Select {reject.name}").check()
    page.locator("#bulk-form select[name=canned]").select_option(CANNED_REASONS[0])
    expect(page.locator("#bulk-reason")).to_have_value(CANNED_REASONS[0])  # there to edit
    page.get_by_role("button", name="Reject selected").click()
    expect(page.locator(".flash-success")).to_contain_text("Rejected 1 template")

    page.get_by_role("link", name="Rejected").click()
    expect(page.locator(f"#row-{reject.template_id}")).to_contain_text(CANNED_REASONS[0])
