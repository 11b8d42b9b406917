"""The main pages run under the Content-Security-Policy without violations."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

PAGES = [
    "/",
    "/templates/",
    "/models/",
    "/analytics/",
    "/experiments/",
    "/flows/",
    "/account/audit/",
    "/account/me/",
]


def violations_on(page, path: str) -> list[str]:
    seen: list[str] = []
    page.on(
        "console",
        lambda message: seen.append(message.text) if "Content Security Policy" in message.text else None,
    )
    page.goto(path)
    page.wait_for_load_state("load")
    return seen


def test_the_main_pages_load_their_scripts_and_styles_under_the_policy(page_as, people):
    page = page_as(people["admin of acme"])
    found = {path: violations_on(page, path) for path in PAGES}
    assert found == {path: [] for path in PAGES}


def test_no_page_has_inline_handlers_blocked_by_the_policy(page_as, people):
    page = page_as(people["staff"])
    found = {path: violations_on(page, path) for path in [*PAGES, "/account/users/"]}
    assert found == {path: [] for path in found}
