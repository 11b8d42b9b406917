"""On a 390 px wide phone no page scrolls sideways, the menu folds behind a button and actions stay on screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.site_tour import ROLE_STOPS, UNFOCUSED_STOPS, demo_people, demo_tables, session_extra, tour

pytestmark = pytest.mark.browser

WIDTH = 390
# The page is no wider than the screen; every visible button, link-button and form control lies
# within it, except inside a region that scrolls on purpose (tables, the log, the flow graph).
LAYOUT = """(width) => {
  const problems = [];
  const wide = document.documentElement.scrollWidth;
  if (wide > width) problems.push(`the page is ${wide} px wide`);
  const scrollers = Array.from(document.querySelectorAll('.table-scroll, .log-scroller, .flow-graph, pre'));
  for (const el of document.querySelectorAll('button, .btn, input, select, textarea')) {
    if (!el.getClientRects().length || scrollers.some((s) => s.contains(el))) continue;
    const box = el.getBoundingClientRect();
    if (box.width && (box.left < -1 || box.right > width + 1)) {
      problems.push(`${el.tagName.toLowerCase()} "${(el.textContent || el.name || '').trim().slice(0, 30)}" reaches ${Math.round(box.right)} px`);
    }
  }
  const h1 = document.querySelector('.shell h1');
  if (h1 && h1.getBoundingClientRect().top > 200) problems.push(`the page title starts ${Math.round(h1.getBoundingClientRect().top)} px down`);
  return problems;
}"""


@pytest.fixture(scope="module")
def demo(web_server):
    with demo_tables():
        yield demo_people()


def phone(page) -> None:
    page.set_viewport_size({"width": WIDTH, "height": 844})


def test_the_sign_in_page_fits_a_phone(page_as, tmp_path):
    page = page_as(None)
    phone(page)
    page.goto("/login/")
    assert page.evaluate(LAYOUT, WIDTH) == []


@pytest.mark.parametrize("role", ["staff", "tenant admin", "moderator"])
def test_every_page_fits_a_phone_as(role, demo, page_as):
    page = page_as(demo[role], **session_extra(role))
    phone(page)
    found = {}
    for stop in tour(page, ROLE_STOPS[role]):
        problems = page.evaluate(LAYOUT, WIDTH)
        if problems:
            found[stop.name] = problems
    assert not found, "\n".join(f"{name}: {'; '.join(problems)}" for name, problems in found.items())


def test_pages_of_staff_without_a_tenant_fit_a_phone(demo, page_as):
    page = page_as(demo["staff"])
    phone(page)
    found = {}
    for stop in tour(page, UNFOCUSED_STOPS):
        problems = page.evaluate(LAYOUT, WIDTH)
        if problems:
            found[stop.name] = problems
    assert not found, "\n".join(f"{name}: {'; '.join(problems)}" for name, problems in found.items())


def test_the_menu_folds_behind_a_button_on_a_phone(demo, page_as):
    page = page_as(demo["tenant admin"])
    phone(page)
    page.goto("/analytics/")
    toggle = page.get_by_role("button", name="Menu")
    nav = page.get_by_role("navigation", name="Main")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(nav).to_be_hidden()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name="Experiments")).to_be_visible()
    nav.get_by_role("link", name="Experiments").focus()
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()
    expect(toggle).to_be_focused()
    page.set_viewport_size({"width": 1360, "height": 900})
    expect(toggle).to_be_hidden()
    expect(nav).to_be_visible()


def test_without_javascript_the_menu_stays_open(demo, browser, web_server):
    from django.conf import settings

    from tests.conftest import session_for

    context = browser.new_context(
        base_url=web_server, java_script_enabled=False, viewport={"width": WIDTH, "height": 844}
    )
    try:
        context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": session_for(demo["tenant admin"]),
                    "url": web_server,
                }
            ]
        )
        page = context.new_page()
        page.goto("/")
        expect(
            page.get_by_role("navigation", name="Main").get_by_role("link", name="Experiments")
        ).to_be_visible()
        expect(page.locator(".menu-toggle")).to_be_hidden()
    finally:
        context.close()


DESKTOP = 1440
# At 1440 px every table fits its card: nothing to scroll sideways to reach a column or an action,
# and no time or name in a table folded over more than two lines.
TABLES_FIT = """() => {
  const problems = [];
  for (const scroller of document.querySelectorAll('.table-scroll')) {
    if (!scroller.getClientRects().length) continue;
    const hidden = scroller.scrollWidth - scroller.clientWidth;
    if (hidden > 1) {
      const name = scroller.getAttribute('aria-label') || scroller.querySelector('table')?.id || 'a table';
      problems.push(`${name} hides ${hidden} px of its columns`);
    }
  }
  for (const cell of document.querySelectorAll('.table tbody td time, .table tbody td a, .table tbody th a')) {
    if (!cell.getClientRects().length || cell.closest('details:not([open])')) continue;
    const lines = cell.getClientRects().length;
    const height = cell.getBoundingClientRect().height;
    const line = parseFloat(getComputedStyle(cell).lineHeight) || 20;
    if (lines > 2 || height > 2.5 * line) problems.push(`"${cell.textContent.trim().slice(0, 30)}" wraps over ${Math.round(height / line)} lines`);
  }
  return problems.slice(0, 8);
}"""
DESKTOP_EXTRA = ["/account/operations/", "/analytics/alerts/", "/analytics/alerts/notifications/"]


def test_every_table_fits_a_desktop_screen(demo, page_as):
    from dashboard.accounts.access import scope_for_user
    from dashboard.apikeys.services import create_key

    # A key with a long name, so the API keys page shows its columns and its Revoke action.
    create_key(scope_for_user(demo["staff"]), "acme", "support-agent production (eu-west, nightly batch)")
    page = page_as(demo["staff"], **session_extra("staff"))
    page.set_viewport_size({"width": DESKTOP, "height": 900})
    found = {}
    for stop in tour(page, ROLE_STOPS["staff"]):
        problems = page.evaluate(TABLES_FIT)
        if problems:
            found[stop.name] = problems
    for path in DESKTOP_EXTRA:
        assert page.goto(path).status == 200
        problems = page.evaluate(TABLES_FIT)
        if problems:
            found[path] = problems
    assert not found, "\n".join(f"{name}: {'; '.join(problems)}" for name, problems in found.items())
