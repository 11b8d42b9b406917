"""A crawl of the site as each role, over the demo data: every page leads somewhere, no link is broken.

Starting at `/`, same-site links are followed breadth first (a bounded number of pages, and only a
few pages of each shape: `/templates/<id>/` is one shape however many templates there are). Every
HTML page must have a link into content besides the navigation (a link in `<main>` to another page),
and no link may answer 404 or 500.
"""

from __future__ import annotations

import re
from collections import deque
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urldefrag, urlencode, urlsplit

import pytest

from tests.conftest import client_for
from tests.site_tour import demo_people, demo_tables

MAX_PAGES = 60  # per role (each page costs about a second: the bound keeps CI short)
PER_SHAPE = 1  # pages of one shape opened (the others are still checked to answer)
MAX_CHECKED = 200  # links checked per role, whether or not their page is read
SKIP = ("/logout/", "/static/")
ID_SEGMENT = re.compile(r"^(?=.*[0-9])[A-Za-z0-9_.@:-]{6,}$")


class _Links(HTMLParser):
    """Every `<a href>` of a page, and those inside `<main>`."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.all: list[str] = []
        self.in_main: list[str] = []
        self.main_depth = 0

    def handle_starttag(self, tag, attrs):
        if tag == "main":
            self.main_depth += 1
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.all.append(href)
                if self.main_depth:
                    self.in_main.append(href)

    def handle_endtag(self, tag):
        if tag == "main" and self.main_depth:
            self.main_depth -= 1


def _absolute(href: str, here: str) -> str | None:
    """The site path of a link on page `here` (None: another site, a fragment, mail…)."""
    href, _ = urldefrag(href)
    if not href:
        return None
    if href.startswith("?"):
        return urlsplit(here).path + href
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not href.startswith("/"):
        return None
    return href


def shape(url: str) -> str:
    """`/templates/tpl_01J…/?cursor=…` → `/templates/<id>/?cursor`: pages of one kind."""
    parts = urlsplit(url)
    path = "/".join("<id>" if ID_SEGMENT.match(segment) else segment for segment in parts.path.split("/"))
    names = sorted({name for name, _ in parse_qsl(parts.query, keep_blank_values=True)})
    return path + ("?" + urlencode([(name, "") for name in names]) if names else "")


def crawl(client) -> dict:
    seen, opened, checked = {"/"}, [], 0
    shapes: dict[str, int] = {}
    dead_ends, broken = [], []
    queue = deque([("/", "(start)")])
    while queue and len(opened) < MAX_PAGES and checked < MAX_CHECKED:
        url, came_from = queue.popleft()
        response = client.get(url)
        checked += 1
        if response.status_code in (404, 500) or response.status_code >= 500:
            broken.append((url, response.status_code, came_from))
            continue
        if response.status_code in (301, 302, 303):
            target = _absolute(response["Location"], url)
            if target and target not in seen:
                seen.add(target)
                queue.append((target, url))
            continue
        if not response.get("Content-Type", "").startswith("text/html"):
            continue
        kind = shape(url)
        shapes[kind] = shapes.get(kind, 0) + 1
        if shapes[kind] > PER_SHAPE:
            continue  # answered fine; its links are those of the pages of its shape already read
        opened.append(url)
        links = _Links()
        links.feed(response.content.decode())
        onward = {_absolute(href, url) for href in links.in_main} - {None, url}
        if not onward:
            dead_ends.append(url)
        for href in links.all:
            target = _absolute(href, url)
            if target and target not in seen and not target.startswith(SKIP):
                seen.add(target)
                queue.append((target, url))
    return {"opened": opened, "dead_ends": dead_ends, "broken": broken, "shapes": shapes}


def _client(role: str, focused: bool):
    from dashboard.accounts.access import TENANT_FOCUS_KEY

    with demo_tables():
        person = demo_people()[role]
    return client_for(person, **({TENANT_FOCUS_KEY: "acme"} if focused else {}))


@pytest.mark.parametrize(
    ("role", "focused"),
    [("tenant admin", False), ("moderator", False), ("staff", False), ("staff", True)],
    ids=["tenant admin", "moderator", "staff on every tenant", "staff inside acme"],
)
def test_every_page_leads_on_and_no_link_is_broken(role, focused):
    with demo_tables():
        client = _client(role, focused)
        result = crawl(client)
    assert len(result["opened"]) >= 5, result["opened"]
    assert not result["broken"], "links that answer 404/500 (url, status, found on): " + repr(
        result["broken"]
    )
    assert not result["dead_ends"], "pages with no link into content: " + repr(result["dead_ends"])
    print(role, focused, len(result["opened"]), "pages read,", len(result["shapes"]), "shapes")
