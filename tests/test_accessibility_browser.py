"""Every main page, as each role, passes axe-core's WCAG 2.2 A/AA rules and our own structure checks."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.site_tour import ROLE_STOPS, UNFOCUSED_STOPS, demo_people, demo_tables, session_extra, tour

pytestmark = pytest.mark.browser

AXE = "/static/vendor/axe-core/axe.min.js"  # served from node_modules (package.json)
# The policy the site must work under: no inline script, no eval (so no htmx trigger filters either).
CSP = "script-src 'self'; object-src 'none'; base-uri 'none'"
RUN_AXE = """async () => {
  const result = await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']});
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({id: v.id, impact: v.impact, help: v.help,
                  nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ') + ' — ' + n.failureSummary)}));
}"""
# One <main>, one <h1>, headings that never skip a level, a skip link that is the first thing to focus.
STRUCTURE = """() => {
  const problems = [];
  const mains = document.querySelectorAll('main');
  if (mains.length !== 1) problems.push(mains.length + ' <main> elements');
  const h1s = document.querySelectorAll('h1');
  if (h1s.length !== 1) problems.push(h1s.length + ' <h1> elements');
  let previous = 0;
  for (const heading of document.querySelectorAll('h1, h2, h3, h4, h5, h6')) {
    const level = Number(heading.tagName[1]);
    if (level > previous + 1) problems.push(`h${level} "${heading.textContent.trim().slice(0, 40)}" after h${previous}`);
    previous = level;
  }
  const skip = document.querySelector('a.skip-link');
  const first = document.querySelector('a[href], button, input, select, textarea, [tabindex]');
  if (!skip || skip !== first) problems.push('the first focusable element is not the skip link');
  else if (!document.querySelector(skip.getAttribute('href') + ':is(main)')) problems.push('the skip link does not lead to <main>');
  for (const el of document.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      if (/^on/.test(attr.name) || /^hx-on/.test(attr.name)) problems.push(`inline handler ${attr.name} on <${el.tagName.toLowerCase()}>`);
      if (attr.name === 'hx-trigger' && attr.value.includes('[')) problems.push(`hx-trigger filter needs eval: ${attr.value}`);
    }
  }
  for (const script of document.querySelectorAll('script:not([src])')) {
    if (script.type !== 'application/json') problems.push('an inline <script> block');
  }
  for (const violation of window.__cspViolations || []) problems.push('CSP refused ' + violation);
  return problems;
}"""


@pytest.fixture(scope="module")
def demo(web_server):
    with demo_tables():
        yield demo_people()


def under_csp(page):
    """Serve every page with the strict policy, and record what the browser refuses."""

    def add_policy(route):
        if route.request.resource_type != "document":
            route.continue_()
            return
        response = route.fetch()
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": CSP})

    page.route("**/*", add_policy)
    page.add_init_script(
        "window.__cspViolations = [];"
        "document.addEventListener('securitypolicyviolation',"
        " (e) => window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));"
    )
    return page


def check(page, label: str, found: dict) -> None:
    page.add_script_tag(url=AXE)
    problems = [
        f"{v['impact']} {v['id']}: {v['help']} — {'; '.join(v['nodes'])}" for v in page.evaluate(RUN_AXE)
    ]
    problems += page.evaluate(STRUCTURE)
    if problems:
        found[label] = problems


def report(found: dict) -> str:
    return "\n".join(f"{page}:\n  " + "\n  ".join(problems) for page, problems in found.items())


@pytest.mark.parametrize("role", ["staff", "tenant admin", "moderator"])
def test_every_page_passes_axe_as(role, demo, page_as):
    page = under_csp(page_as(demo[role], **session_extra(role)))
    found: dict = {}
    for stop in tour(page, ROLE_STOPS[role]):
        check(page, stop.name, found)
    assert not found, report(found)


def test_pages_of_staff_without_a_tenant_pass_axe(demo, page_as):
    page = under_csp(page_as(demo["staff"]))
    found: dict = {}
    for stop in tour(page, UNFOCUSED_STOPS):
        check(page, stop.name, found)
    assert not found, report(found)


def test_the_sign_in_page_and_a_signed_out_error_pass_axe(page_as):
    page = under_csp(page_as(None))
    found: dict = {}
    page.goto("/login/")
    check(page, "sign in", found)
    page.goto("/login/?next=/nowhere")
    page.fill("input[name=email]", "nobody@example.test")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    check(page, "sign in with an error", found)
    page.goto("/no-such-page/")
    check(page, "not found, signed out", found)
    assert not found, report(found)


def logs_of_a_finished_run(page) -> None:
    page.goto("/experiments/")
    page.goto(page.locator("#experiment-list .experiment-head a").first.get_attribute("href"))
    runs = page.locator("#runs tbody tr").filter(has=page.locator(".badge-ok, .badge-bad"))
    page.goto(runs.first.locator("a").first.get_attribute("href"))


def test_arrow_keys_on_a_filter_select_wait_for_enter_and_the_result_is_announced(demo, page_as):
    page = under_csp(page_as(demo["tenant admin"]))
    logs_of_a_finished_run(page)
    here = page.url
    severity = page.locator("select[name=severity]")
    severity.focus()
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.keyboard.press("ArrowDown")  # Chromium changes the value and fires `change` right away
    expect(severity).to_have_value("info")
    expect(page.locator("#log-viewer form")).to_have_class(re.compile("apply-pending"))
    assert page.url == here and not [url for url in requests if "/logs/" in url]
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"severity=warning"))
    expect(page.locator("#live-status")).to_have_text(re.compile(r"^\d+ log lines? shown for these filters$"))
    expect(page.locator("select[name=severity]")).to_be_focused()  # the new viewer's select, not <body>


def test_a_pointer_pick_applies_at_once_and_focus_stays_on_the_control(demo, page_as):
    page = page_as(demo["tenant admin"])
    page.goto("/analytics/executions/")
    status = page.locator("select[name=status]")
    status.focus()  # as a click on it would
    status.select_option("failed")
    expect(page).to_have_url(re.compile(r"status=failed"))
    expect(page.locator("#live-status")).to_have_text(re.compile(r"^\d+ executions? shown"))
    expect(page.locator("select[name=status]")).to_be_focused()


def test_the_tenant_switcher_does_not_switch_on_an_arrow_key(demo, page_as):
    page = page_as(demo["staff"])
    page.goto("/flows/")
    switcher = page.locator("#tenant-switch")
    switcher.focus()
    posts = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    page.keyboard.press("ArrowDown")
    expect(switcher).not_to_have_value("")
    page.evaluate("1")  # a round trip: a submit started by the key press would have been seen by now
    assert posts == [] and page.url.endswith("/flows/")
    chosen = switcher.input_value()
    page.keyboard.press("Enter")
    expect(page.locator("#tenant-switch")).to_have_value(chosen)
    expect(page.locator("main .lead")).to_contain_text(chosen)


def test_the_next_page_moves_focus_to_the_new_rows(demo, page_as):
    page = page_as(demo["tenant admin"])
    page.goto("/analytics/executions/")
    page.get_by_role("link", name="Next page →").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("cursor="))
    expect(page.locator("#executions-table")).to_be_focused()
    expect(page.locator("#live-status")).to_have_text(re.compile(r"^\d+ executions? shown"))


def test_charts_have_their_figures_in_a_table(demo, page_as):
    page = page_as(demo["tenant admin"])
    page.goto("/analytics/?period=7")
    table = page.locator("#cost-chart-table")
    table.get_by_text("Daily cost as a table").click()
    expect(table.locator("tbody tr")).to_have_count(7)
    expect(table.locator("thead th").last).to_have_text("Total")
    page.goto("/models/")
    page.goto(page.locator("#models tbody a").first.get_attribute("href"))
    points = page.locator("#metric-chart-table tbody tr")
    expect(page.locator("#metric-chart")).to_have_attribute("data-drawn", re.compile(r"\d+"))
    assert points.count() == int(page.locator("#metric-chart").get_attribute("data-drawn"))
