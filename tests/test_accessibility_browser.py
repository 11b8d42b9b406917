"""Every main page, as each role, passes axe-core's WCAG 2.2 A/AA rules and our own structure checks."""

from __future__ import annotations

import pytest

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
