import pytest

pytestmark = pytest.mark.browser


def test_a_moderator_approves_a_template_and_it_appears_in_browse(page_as, people, make_template, tmp_path):
    template = make_template("acme", state="pending")
    moderator = page_as(people["moderator"])
    moderator.goto("/templates/moderation/")
    row = moderator.locator(f"#row-{template.template_id}")
    moderator.screenshot(path=tmp_path / "marketplace-queue.png", full_page=True)
    row.locator("button:has-text('Approve')").click()
    moderator.locator(f"#row-{template.template_id} >> text=it is listed publicly now").wait_for()

    tenant = page_as(people["admin of globex"])
    tenant.goto("/templates/?sort=newest&visibility=public")
    assert tenant.locator(f"[data-template-id='{template.template_id}']").count() == 1


def test_a_moderator_rejects_with_a_reason_and_the_row_says_so(page_as, people, make_template):
    template = make_template("globex", state="pending")
    page = page_as(people["moderator"])
    page.goto("/templates/moderation/")
    row = page.locator(f"#row-{template.template_id}")
    row.locator("button:has-text('Reject')").click()
    page.locator(f"#row-{template.template_id} >> text=Say why it is rejected").wait_for()
    page.fill(f"#row-{template.template_id} input[name=reason]", "Uses a tool that leaks data.")
    page.locator(f"#row-{template.template_id} button:has-text('Reject')").click()
    page.locator(f"#row-{template.template_id} >> text=the author sees your reason").wait_for()
    page.click("nav.tabs >> text=Rejected")
    row = page.locator(f"#row-{template.template_id}")
    row.locator("text=Uses a tool that leaks data.").wait_for()
    assert "Rejected" in row.inner_text()
