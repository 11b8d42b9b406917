"""A sweep over every htmx address the pages use, like the tenant-isolation sweep.

For each page of the site tour (demo data, staff focused on acme and a tenant admin), every `hx-get` on the
page is requested twice:
- as htmx's history restore (`HX-Request` + `HX-History-Restore-Request`, what Back sends when htmx's
  history cache dropped the page): the whole document, sidebar included;
- as a plain htmx request: a fragment (no `<html`), holding the element the request targets.
Polls of things that have finished answer 286, so htmx stops asking. Every address that answers both says `Vary: HX-Request`.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urljoin

import pytest
from django.conf import settings
from django.test import Client

from tests.conftest import session_for
from tests.site_tour import demo_people, demo_tables, session_extra

HX = {"HTTP_HX_REQUEST": "true"}
RESTORE = {**HX, "HTTP_HX_HISTORY_RESTORE_REQUEST": "true"}
PAGES = [
    "/",
    "/analytics/",
    "/analytics/executions/",
    "/templates/",
    "/templates/moderation/",
    "/models/",
    "/models/approvals/",
    "/models/timeline/",
    "/models/governance/",
    "/experiments/",
    "/flows/",
    "/account/audit/",
]
# Detail pages, reached through the first link of a list page (as a person would).
DETAILS = [
    ("/analytics/executions/", r'href="(/analytics/sessions/[^"]+)"'),
    ("/analytics/executions/", r'href="(/analytics/people/[^"]+)"'),
    ("/templates/", r'href="(/templates/tpl_[^/"]+/)"'),
    ("/models/", r'href="(/models/[^/"?#]+/)"'),
    ("/experiments/", r'href="(/experiments/[^/"?#]+/)"'),
    ("/flows/", r'href="(/flows/[^/"?#]+/)"'),
]
TAG = re.compile(r"<[a-z][^>]*\shx-get=\"([^\"]+)\"[^>]*>", re.S)


def _attr(tag: str, name: str) -> str | None:
    match = re.search(rf'\s{name}="([^"]*)"', tag)
    return html.unescape(match.group(1)) if match else None


@pytest.fixture(scope="module")
def site(dynamodb_local):
    with demo_tables():
        people = demo_people()
        clients = {}
        for role in ("staff", "tenant admin"):
            client = Client()
            client.cookies[settings.SESSION_COOKIE_NAME] = session_for(people[role], **session_extra(role))
            clients[role] = client
        pages = list(PAGES)
        for page, pattern in DETAILS:
            found = re.search(pattern, clients["staff"].get(page).content.decode())
            assert found, f"no detail link on {page}"
            pages.append(html.unescape(found.group(1)))
        run = re.search(
            r'href="(/experiments/[^"]+/runs/[^"]+/logs/)"', clients["staff"].get(pages[-2]).content.decode()
        )
        if run:
            pages.append(html.unescape(run.group(1)))
        yield clients, pages


def _htmx_gets(client: Client, page: str) -> list[tuple[str, str | None, bool]]:
    """(address, target id, is a poll) of each hx-get on the page."""
    body = client.get(page).content.decode()
    found = []
    for match in TAG.finditer(body):
        tag = match.group(0)
        url = html.unescape(match.group(1))
        trigger = _attr(tag, "hx-trigger") or ""
        target = _attr(tag, "hx-target") or ""
        own_id = _attr(tag, "id")
        target_id = target[1:] if target.startswith("#") else (own_id if target in ("", "this") else None)
        after_load = "every" in trigger or trigger.strip().startswith("load")
        # Resolved as a browser does: a bare `?query` replaces the page's own query.
        found.append((urljoin(page, url), target_id, after_load))
    return found


def test_every_htmx_address_answers_the_whole_page_to_a_history_restore(site):
    clients, pages = site
    checked = 0
    for role, client in clients.items():
        for page in pages:
            for url, _target, poll in _htmx_gets(client, page):
                if poll:
                    continue  # polls and after-load fragments (badges) are never pushed to history
                response = client.get(url, **RESTORE)
                body = response.content.decode()
                assert response.status_code == 200, (role, url)
                assert "<html" in body and 'class="sidebar' in body, f"{role}: {url} answered a fragment"
                checked += 1
    assert checked >= 10


def test_every_htmx_address_answers_a_fragment_holding_its_target(site):
    clients, pages = site
    checked = 0
    for role, client in clients.items():
        for page in pages:
            for url, target, poll in _htmx_gets(client, page):
                response = client.get(url, **HX)
                body = response.content.decode()
                assert response.status_code in (200, 286), (role, url, response.status_code)
                assert "<html" not in body, f"{role}: {url} answered a whole page to htmx"
                if not poll:  # the same URL answers a page to a plain load: caches must tell them apart
                    assert "HX-Request" in response.get("Vary", ""), f"{role}: {url} lacks Vary: HX-Request"
                if target and not poll and response.status_code == 200:
                    assert f'id="{target}"' in body, f"{role}: {url} lacks #{target}"
                checked += 1
    assert checked >= 10


def test_a_finished_poll_answers_286(site):
    clients, pages = site
    polls = [
        (url, target) for page in pages for url, target, poll in _htmx_gets(clients["staff"], page) if poll
    ]
    answers = {url: clients["staff"].get(url, **HX).status_code for url, _t in polls}
    # The demo has runs still running (they keep polling, 200) and finished ones (286); no other answer.
    assert set(answers.values()) <= {200, 286}, answers
