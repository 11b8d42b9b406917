"""The site as production runs it: gunicorn, whitenoise, DEBUG off, in Chromium.

gunicorn runs as a subprocess against the test session's DynamoDB Local (prefix `test`), with the
static files collected into a temporary STATIC_ROOT. Plain HTTP needs SECURE_SSL_REDIRECT=false;
cookies stay Secure as in production: Chromium treats http://127.0.0.1 as a secure context and
sends them back (checked below). Another browser or a non-loopback host over plain HTTP would not:
that is what SECURE_COOKIES=false is for (`make serve` sets it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from dashboard.dynamo import local
from tests.analytics.conftest import make_tenant, run, slug
from tests.conftest import PAINTED_PIXELS, session_for, wait_for

pytestmark = pytest.mark.browser

BIN = Path(sys.executable).parent


def production_env(dynamodb_local: str, static_root: Path, port: int, **extra) -> dict:
    env = {
        **os.environ,
        "DEBUG": "false",
        # Sessions are signed with it: the same key as this process, which writes them (session_for).
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "DYNAMODB_ENDPOINT_URL": dynamodb_local,
        "DYNAMODB_TABLE_PREFIX": "test",
        "STATIC_ROOT": str(static_root),
        "PORT": str(port),
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": "4",
        "LOG_FORMAT": "json",
        **extra,
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


def wait_until_healthy(base_url: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    def healthy() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:
                return response.status == 200
        except OSError:  # refused, reset or timed out while the worker boots
            return False

    wait_for(
        healthy,
        timeout=timeout,
        every=0.2,
        message=lambda: f"gunicorn did not answer /healthz:\n{log.read_text()[-3000:]}",
    )


def start_gunicorn(dynamodb_local: str, tmp: Path, **extra):
    static_root = tmp / "static"
    port = local.free_port()
    env = production_env(dynamodb_local, static_root, port, **extra)
    collect = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert collect.returncode == 0, collect.stderr
    log = tmp / "gunicorn.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base_url, process, log)
    except AssertionError:
        stop(process)  # never leave a server behind
        raise
    return process, base_url, log


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def production_server(dynamodb_local, tmp_path_factory):
    process, base_url, log = start_gunicorn(dynamodb_local, tmp_path_factory.mktemp("production"))
    yield base_url, log
    stop(process)


@pytest.fixture
def production_page(browser, production_server):
    base_url, _log = production_server
    contexts = []

    def open_page(user=None):
        context = browser.new_context(base_url=base_url, viewport={"width": 1360, "height": 900})
        context.set_default_timeout(20_000)
        if user is not None:
            context.add_cookies(
                [{"name": settings.SESSION_COOKIE_NAME, "value": session_for(user), "url": base_url}]
            )
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def spending_tenant(people):
    tenant = make_tenant(people)
    agent = slug("support")
    tenant.post(agent, run("recent", model="gpt-4o", ago=timedelta(days=1)))
    tenant.post(agent, run("older", model="gpt-4o-mini", ago=timedelta(days=20)))
    return tenant


def test_pages_are_styled_by_hashed_compressed_long_cached_static_files(production_page, people):
    page = production_page(people["admin of acme"])
    page.goto("/")
    # app.css: `.sidebar { background: var(--side) }` with --side #161a2b.
    background = page.locator(".sidebar").evaluate("el => getComputedStyle(el).backgroundColor")
    assert background == "rgb(22, 26, 43)"
    href = page.locator("link[rel=stylesheet][href*='app.']").first.get_attribute("href")
    assert href.startswith("/static/css/app.") and href != "/static/css/app.css"  # content-hashed
    response = page.request.get(href, headers={"Accept-Encoding": "gzip"})
    assert response.status == 200
    assert "max-age=315360000" in response.headers["cache-control"]
    assert "immutable" in response.headers["cache-control"]
    assert response.headers.get("content-encoding") == "gzip"


def test_htmx_swaps_and_the_cost_chart_draws(production_page, spending_tenant):
    page = production_page(spending_tenant.admin)
    page.goto("/analytics/?period=7")
    expect(page.locator("#cost-chart")).to_have_attribute("data-points", "7")
    # Playwright re-checks the drawing on each animation frame until the chart has inked its canvas.
    painted = f"() => ({PAINTED_PIXELS})('cost-chart') > 500"
    page.wait_for_function(painted, timeout=20_000)
    page.click(".period-picker >> text=30 days")
    page.wait_for_url("**/analytics/?period=30")
    expect(page.locator("#cost-chart")).to_have_attribute("data-points", "30")
    assert page.locator("[data-figure=executions] .stat-value").inner_text() == "2"
    page.wait_for_function(painted, timeout=20_000)


def test_a_form_post_round_trips_its_secure_csrf_cookie_over_loopback_http(production_page):
    page = production_page()
    page.goto("/login/")
    [csrf] = [c for c in page.context.cookies() if c["name"] == settings.CSRF_COOKIE_NAME]
    assert csrf["secure"] is True
    page.fill("#id_email", "nobody@example.test")
    page.fill("#id_password", "not-the-password")
    with page.expect_response(lambda r: r.url.endswith("/login/") and r.request.method == "POST") as answer:
        page.click("button[type=submit]")
    assert answer.value.status == 200  # the form's error, not a 403 CSRF failure
    assert page.locator(".form-error").is_visible()


def test_each_request_is_one_json_log_line_with_its_request_id(production_server):
    base_url, log = production_server
    request = urllib.request.Request(f"{base_url}/readyz", headers={"X-Request-ID": "probe-123"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["X-Request-ID"] == "probe-123"
    # The worker writes its log line after the answer has left: wait for the line itself.
    lines = wait_for(
        lambda: [json.loads(line) for line in log.read_text().splitlines() if '"probe-123"' in line],
        timeout=10,
        message="no log line carries the request id",
    )
    [line] = lines
    assert (line["path"], line["status"], line["dynamodb_calls"]) == ("/readyz", 200, 1)
