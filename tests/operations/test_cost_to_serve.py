"""Cost to serve each tenant: DynamoDB units metered per tenant served, priced, beside its LLM spend."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from dashboard.core import clock
from dashboard.dynamo.metrics import UNATTRIBUTED
from dashboard.operations import queries
from dashboard.operations.services import flush_usage
from tests.analytics.conftest import make_tenant, run, slug


@pytest.fixture
def metering(settings):
    settings.DYNAMODB_USAGE_FLUSH_SECONDS = 10**9  # only the test flushes
    settings.DYNAMODB_PRICE_PER_MILLION_READ_UNITS = 1_000_000  # $1 per read unit: costs easy to read
    settings.DYNAMODB_PRICE_PER_MILLION_WRITE_UNITS = 2_000_000
    flush_usage()


def month() -> str:
    return clock.now().strftime("%Y-%m")


def test_a_tenants_api_writes_and_page_reads_are_its_cost_and_no_one_elses(metering, people):
    busy, idle = make_tenant(people), make_tenant(people)
    for n in range(3):
        assert busy.post(slug("agent"), run(f"exe-{n}", tokens_in=2000, tokens_out=1000))[0] == 201
    flush_usage()
    after_api = queries.tenant_usage(month())[busy.tenant_id]  # the key's calls are its tenant's
    assert after_api.write_units > 0 and after_api.calls >= 3
    assert busy.client.get("/analytics/").status_code == 200
    flush_usage()
    usage = queries.tenant_usage(month())
    assert usage[busy.tenant_id].read_units > (after_api.read_units or 0)  # and so are its admin's pages
    assert idle.tenant_id not in usage
    [row] = [row for row in queries.tenant_costs(clock.now().date()) if row.tenant_id == busy.tenant_id]
    assert row.dynamodb_micro_usd == round(row.read_units * 1_000_000 + row.write_units * 2_000_000)
    assert row.llm_micro_usd == 3 * 900  # 2000 × $0.15/M + 1000 × $0.60/M per run


def test_what_serves_no_tenant_is_shown_apart_and_last(metering, people, staff):
    from django.test import Client

    Client().get("/login/")  # a signed-out page: sessions and throttles, no tenant
    staff.get("/account/operations/")
    flush_usage()
    rows = queries.tenant_costs(clock.now().date())
    assert rows[-1].tenant_id == UNATTRIBUTED and not rows[-1].attributed
    costs = [row.dynamodb_micro_usd for row in rows if row.attributed]
    assert costs == sorted(costs, reverse=True)


@pytest.mark.browser
def test_staff_see_the_costliest_tenants_first_on_the_operations_page(metering, people, page_as):
    busy = make_tenant(people, "Busy tenant")
    for n in range(4):
        busy.post(slug("agent"), run(f"exe-{n}"))
    flush_usage()
    page = page_as(people["staff"])
    page.goto("/account/operations/")
    table = page.locator("#tenant-costs")
    expect(table).to_be_visible()
    row = table.locator(f'tr[data-tenant="{busy.tenant_id}"]')
    expect(row).to_contain_text("Busy tenant")
    expect(row.locator('[data-figure="dynamodb-cost"]')).to_have_text(re.compile(r"^\$[\d,]+\.\d\d$"))
    costs = [
        int(value)
        for value in table.locator("tbody tr[data-tenant]").evaluate_all(
            "rows => rows.filter(r => r.dataset.tenant !== '-').map(r => r.dataset.dynamodbMicroUsd)"
        )
    ]
    assert costs == sorted(costs, reverse=True) and costs[0] > 0
