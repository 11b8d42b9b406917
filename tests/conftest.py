"""The test session runs against its own DynamoDB Local (in memory, on a free port).

Named people shared by all tests: "admin of acme", "admin of globex", "moderator", "staff".
Tests isolate themselves with unique ids (`unique()`), never by emptying tables.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from django.conf import settings
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.wsgi import get_wsgi_application
from django.test import Client

from dashboard.accounts import services
from dashboard.accounts.models import User
from dashboard.accounts.session_store import TENANT_KEY, USER_KEY, SessionStore
from dashboard.core import vendor
from dashboard.core.ids import new_id
from dashboard.dynamo import base, local
from dashboard.dynamo.tables import ensure_tables

PASSWORD = "correct-horse-battery"
# Playwright's sync API runs an event loop in the main thread; with no SQL database there is
# nothing async-unsafe for Django to protect, but pytest-django's teardown would still refuse.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


VOID_ELEMENTS = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}


class _ElementFinder(HTMLParser):
    """Finds the element with one id and where its HTML starts and ends in the source."""

    def __init__(self, element_id: str):
        super().__init__(convert_charrefs=True)
        self.element_id = element_id
        self.start: tuple[int, int] | None = None
        self.end: tuple[int, int] | None = None
        self.depth = 0

    def handle_starttag(self, tag, attrs):
        if self.end is not None:
            return
        if self.start is None:
            if dict(attrs).get("id") == self.element_id:
                self.start = self.getpos()
                self.depth = 0 if tag in VOID_ELEMENTS else 1
                if not self.depth:
                    self.end = self.getpos()
        elif tag not in VOID_ELEMENTS:
            self.depth += 1

    def handle_startendtag(self, tag, attrs):
        if self.start is None and dict(attrs).get("id") == self.element_id:
            self.start = self.end = self.getpos()

    def handle_endtag(self, tag):
        if self.start is not None and self.end is None and tag not in VOID_ELEMENTS:
            self.depth -= 1
            if self.depth == 0:
                self.end = self.getpos()


def element_by_id(html: str, element_id: str) -> str | None:
    """The HTML of the element with this id (from its start tag to its end tag), or None."""
    finder = _ElementFinder(element_id)
    finder.feed(html)
    finder.close()
    if finder.start is None:
        return None
    lines = html.splitlines(keepends=True)

    def offset(position: tuple[int, int]) -> int:
        line, column = position
        return sum(len(text) for text in lines[: line - 1]) + column

    begin = offset(finder.start)
    if finder.end is None:
        return html[begin:]
    end = html.index(">", offset(finder.end)) + 1
    return html[begin:end]


def assert_fragment(response, *, id: str) -> str:
    """The response is an htmx fragment (no `<html`) holding the element with this id; its HTML."""
    html = response.content.decode()
    assert "<html" not in html.lower(), "a whole page came back where a fragment was expected"
    element = element_by_id(html, id)
    assert element is not None, f"the fragment has no element with id={id!r}"
    return element


def wait_for(condition, *, timeout: float, message, every: float = 0.05):
    """`condition()`'s first truthy value, asked again until `timeout` seconds have passed; then the
    test fails with `message` (text, or a function giving it then). For what only polling can see (a log file, a server coming back);
    pages wait with Playwright's `expect`, threads with a `threading.Condition`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(message() if callable(message) else message)
        time.sleep(min(every, max(0.0, deadline - time.monotonic())))


def unique(prefix: str = "t") -> str:
    return new_id(prefix)


@pytest.fixture(scope="session", autouse=True)
def dynamodb_local(tmp_path_factory) -> Iterator[str]:
    port = local.free_port()
    log_path = tmp_path_factory.mktemp("dynamodb") / "dynamodb-local.log"
    process = local.start(port, data_dir=None, log_path=log_path)
    settings.DYNAMODB_ENDPOINT_URL = f"http://127.0.0.1:{port}"
    settings.DYNAMODB_TABLE_PREFIX = "test"
    settings.DYNAMODB_MAX_RETRIES = 0
    # A key production would accept: tests start production-mode processes signed with this one.
    settings.SECRET_KEY = "test-session-" + secrets.token_urlsafe(48)
    # Vendor static files as `make install` copies them, plus axe-core, which only tests use; the
    # production-mode subprocesses read the same folder (VENDOR_ROOT).
    vendor_root = tmp_path_factory.mktemp("vendor") / "vendor"
    try:
        vendor.build(settings.BASE_DIR / "node_modules", vendor_root, for_tests=True)
    except FileNotFoundError:  # no `npm ci` yet: only the pages with charts and the axe tests miss them
        vendor_root.mkdir()
    os.environ["VENDOR_ROOT"] = str(vendor_root)
    settings.VENDOR_ROOT = vendor_root
    settings.STATICFILES_DIRS = [
        *(
            entry
            for entry in settings.STATICFILES_DIRS
            if not (isinstance(entry, tuple) and entry[0] == "vendor")
        ),
        ("vendor", vendor_root),
    ]
    # No rate limit for the session's shared keys (tests move the clock, which would leave their
    # buckets in the future); the limiter's own tests set their limits with the `settings` fixture.
    settings.API_RATE_LIMIT_PER_MINUTE = 0
    # Hashing strength is not under test; a fast hasher keeps the suite quick.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    base.reconfigure()
    for _name, _done in ensure_tables():
        pass
    yield settings.DYNAMODB_ENDPOINT_URL
    local.stop_process(process)


@contextmanager
def tables_of_their_own(prefix: str) -> Iterator[None]:
    """Every model on tables under `prefix` (created here) until the block ends, then the session's.

    For tests whose work grows with a table's size, not with their own items: the tenant erase scans
    whole tables, which by the end of the suite hold every earlier test's items (minutes a scan, on
    the session's tables). What a process remembers of items (a flow's template, a tenant's write
    settings, staff prices) is forgotten on each switch: ids such as `acme` repeat from one set of
    tables to the other."""
    saved = settings.DYNAMODB_TABLE_PREFIX

    def switch(to: str) -> None:
        from dashboard.accounts import queries as accounts_queries
        from dashboard.analytics import pricing
        from dashboard.analytics import services as analytics_services

        settings.DYNAMODB_TABLE_PREFIX = to
        base.reconfigure()
        analytics_services._template_cache.clear()
        accounts_queries._retention_cache.clear()
        pricing.forget()

    switch(prefix)
    try:
        for _name, _done in ensure_tables():
            pass
        yield
    finally:
        switch(saved)


def make_people() -> dict[str, User]:
    for tenant_id, name in (("acme", "Acme Robotics"), ("globex", "Globex Analytics")):
        services.create_tenant(tenant_id, name)
    return {
        "admin of acme": services.create_user(
            "admin@acme.test", PASSWORD, "tenant_admin", "acme", "Ada Acme"
        ),
        "admin of globex": services.create_user(
            "admin@globex.test", PASSWORD, "tenant_admin", "globex", "Gil Globex"
        ),
        "moderator": services.create_user(
            "moderator@diatonic.test", PASSWORD, "moderator", name="Mo Derator"
        ),
        "staff": services.create_user("staff@diatonic.test", PASSWORD, "staff", name="Sam Staff"),
    }


@pytest.fixture(scope="session")
def people(dynamodb_local) -> dict[str, User]:
    return make_people()


def people_on_tables_of_their_own(prefix: str):
    """A module's own `people` fixture, on tables of its own (`tables_of_their_own`) for the module's
    tests; the fixtures built on `people` (`staff`, `acme_admin`, `page_as`' users) follow it."""

    @pytest.fixture(scope="module")
    def people(dynamodb_local) -> Iterator[dict[str, User]]:
        with tables_of_their_own(prefix):
            yield make_people()

    return people


def session_for(user: User, **extra) -> str:
    store = SessionStore()
    store[USER_KEY] = user.user_id
    if user.tenant_id:  # as a sign-in records it (accounts.access.login)
        store[TENANT_KEY] = user.tenant_id
    for key, value in extra.items():
        store[key] = value
    store.create()
    store.save()
    return store.session_key


def client_for(user: User, **session) -> Client:
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = session_for(user, **session)
    return client


@pytest.fixture
def acme_admin(people) -> Client:
    return client_for(people["admin of acme"])


@pytest.fixture
def globex_admin(people) -> Client:
    return client_for(people["admin of globex"])


@pytest.fixture
def moderator(people) -> Client:
    return client_for(people["moderator"])


@pytest.fixture
def staff(people) -> Client:
    return client_for(people["staff"])


# --- browser tests -----------------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args) -> None:
        pass


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


@pytest.fixture(scope="session")
def web_server(dynamodb_local) -> Iterator[str]:
    app = StaticFilesHandler(get_wsgi_application())
    server = make_server("127.0.0.1", 0, app, server_class=_ThreadingServer, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page_as(browser, web_server):
    """`page_as(user)` gives a browser page signed in as that user (None: signed out).

    Keyword arguments go into the session, e.g. staff's tenant focus."""
    contexts = []

    def open_page(user: User | None = None, **session):
        context = browser.new_context(base_url=web_server, viewport={"width": 1360, "height": 900})
        context.set_default_timeout(20_000)  # generous: CI machines are small and busy
        if user is not None:
            context.add_cookies(
                [
                    {
                        "name": settings.SESSION_COOKIE_NAME,
                        "value": session_for(user, **session),
                        "url": web_server,
                    }
                ]
            )
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


# How many pixels of a canvas carry ink, 0 unless Chart.js holds a chart for it.
PAINTED_PIXELS = """(id) => {
    const canvas = document.getElementById(id);
    if (!canvas || typeof Chart === 'undefined' || !Chart.getChart(canvas)) return 0;
    if (!canvas.width || !canvas.height) return 0;
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let inked = 0;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) inked++;
    return inked;
}"""


def assert_chart_painted(page, canvas_id: str) -> None:
    """The canvas is visible, Chart.js has a chart on it and it has drawn something."""
    from playwright.sync_api import expect

    expect(page.locator(f"#{canvas_id}")).to_be_visible()
    page.wait_for_function(f"() => ({PAINTED_PIXELS})({canvas_id!r}) > 0")
