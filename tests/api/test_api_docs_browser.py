"""/api/docs: the API reference page renders every operation, from this server alone."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from dashboard.api import openapi

pytestmark = pytest.mark.browser


def test_the_reference_shows_every_operation_and_asks_nothing_of_other_hosts(page_as, people):
    page = page_as(None)  # a client's developer, signed out
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).hostname or ""))
    page.goto("/api/docs")
    expect(page.get_by_role("heading", level=1)).to_have_text("Diatonic AI Lab dashboard API")
    document = openapi.document()
    operations = [(method.upper(), path) for path, methods in document["paths"].items() for method in methods]
    expect(page.locator("section.api-operation")).to_have_count(len(operations))
    for method, path in operations:
        expect(page.get_by_role("heading", name=f"{method} {path}", exact=False).first).to_be_visible()
    runs = page.locator("#runs_post")
    expect(runs).to_contain_text("execution_id")
    expect(runs).to_contain_text("422")
    expect(page.get_by_role("link", name="/api/openapi.json")).to_have_attribute("href", "/api/openapi.json")
    page.wait_for_load_state("load")
    assert hosts == {"127.0.0.1"}


def test_the_otlp_receivers_are_described_with_both_encodings(page_as, people):
    page = page_as(people["admin of acme"])
    page.goto("/api/docs")
    expect(page.locator("#otel_traces_post")).to_contain_text("application/x-protobuf")
    expect(page.locator("#otel_logs_post")).to_contain_text("application/json")
