import pytest
from playwright.sync_api import expect

from dashboard.analytics import template_summaries
from tests.analytics.conftest import make_tenant
from tests.marketplace.conftest import make_flow, post, runs_of, word

pytestmark = pytest.mark.browser


def test_browse_with_a_filter_a_search_and_the_next_page(page_as, people, make_template, tmp_path):
    token = word()
    for i in range(26):
        make_template("globex", state="approved", category="finance", name=f"Ledger {token} {i:02d}")
    other = make_template("globex", state="approved", category="sales", name=f"Sales {token}")
    for kit in [make_tenant(people) for _ in range(3)]:  # three tenants run flows made from it
        post(kit, runs_of(make_flow(kit.tenant_id, other.template_id), [2_000, 2_500], failed=1))
    template_summaries.rebuild()
    page = page_as(people["admin of acme"])
    searches = []
    page.on("request", lambda request: f"q={token}" in request.url and searches.append(request.url))
    page.goto("/templates/")
    page.select_option("select[name=category]", "finance")
    page.wait_for_url("**category=finance**")
    page.fill("#q", token)
    page.press("#q", "Enter")
    page.wait_for_url(f"**q={token}**")
    page.locator(".muted", has_text=f"Results for “{token}”").wait_for()
    cards = page.locator("#template-list .tpl-card")
    assert cards.count() == 24
    assert page.locator(f"[data-template-id='{other.template_id}']").count() == 0
    # Enter sends one search: a second (its `change` event) would land after “Next page” and undo it.
    assert len(searches) == 1
    first_page = set(cards.evaluate_all("els => els.map(e => e.dataset.templateId)"))
    page.click("text=Next page →")
    page.wait_for_url("**cursor=**")
    expect(page.locator("#template-list .tpl-card")).to_have_count(2)
    second_page = set(
        page.locator("#template-list .tpl-card").evaluate_all("els => els.map(e => e.dataset.templateId)")
    )
    assert not first_page & second_page
    assert "category=finance" in page.url and f"q={token}" in page.url
    assert page.locator("select[name=category]").input_value() == "finance"
    page.screenshot(path=tmp_path / "marketplace-browse.png", full_page=True)
    # The sales card shows what the template costs across the three tenants; the ledgers, never run, do not.
    page.select_option("select[name=category]", "sales")
    card = page.locator(f"[data-template-id='{other.template_id}']")
    expect(card.locator(".tpl-cost-runs")).to_have_text("6")
    expect(card.locator(".tpl-cost-success")).to_have_text("50.0%")
    expect(card.locator(".tpl-cost-tenants")).to_have_text("3")
    expect(card.locator(".tpl-cost-median")).to_contain_text("$0.00")


def test_rating_from_the_detail_page_updates_in_place(page_as, people, make_template, tmp_path):
    template = make_template("globex", state="approved")
    page = page_as(people["admin of acme"])
    page.goto(f"/templates/{template.template_id}/")
    page.click("button[aria-label='Rate 4 out of 5']")
    page.locator("text=Thanks, your rating is saved.").wait_for()
    assert page.locator("#rating-average").inner_text() == "4.0"
    page.screenshot(path=tmp_path / "marketplace-detail.png", full_page=True)
