"""The staff operations page: per-table units and costs as metered, errors per table, latency, budget."""

from __future__ import annotations

import re

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pynamodb.exceptions import PutError

from dashboard.accounts.queries import list_tenants
from dashboard.alerts.models import AlertChannel
from dashboard.core.ids import new_id
from dashboard.dynamo.metrics import track
from dashboard.dynamo.tables import all_models
from dashboard.operations import queries
from dashboard.operations.services import flush_usage
from tests.analytics.conftest import make_tenant, slug
from tests.api.spans import exporter
from tests.conftest import people_on_tables_of_their_own

# The page reads each tenant's figures (its call budget below counts them): on the session's tables,
# which hold thousands of test tenants by the time the suite gets here, a view took 20 s.
people = people_on_tables_of_their_own("ops-page")

ROW = re.compile(
    r'<tr data-table="([^"]+)" data-read="([^"]+)" data-write="([^"]+)" data-cost="([^"]+)">(.*?)</tr>', re.S
)


def figures(client) -> dict[str, dict]:
    response = client.get("/account/operations/")
    assert response.status_code == 200
    found = {}
    for table, read, write, cost, cells in ROW.findall(response.content.decode()):
        numbers = re.findall(r'<td class="num">([\d,]+)</td>', cells)
        found[table] = {
            "read": float(read),
            "write": float(write),
            "cost": float(cost),
            "condition_failures": int(numbers[-3].replace(",", "")),
        }
    return found


@pytest.fixture
def metering(settings):
    settings.DYNAMODB_USAGE_FLUSH_SECONDS = 10**9  # only the test flushes
    settings.DYNAMODB_PRICE_PER_MILLION_READ_UNITS = 1_000_000  # $1 per read unit: costs easy to read
    settings.DYNAMODB_PRICE_PER_MILLION_WRITE_UNITS = 2_000_000
    flush_usage()


def test_the_page_shows_the_units_and_cost_of_what_a_test_wrote_and_read(staff, metering):
    before = figures(staff)["alert-channels"]
    flush_usage()
    ids = [new_id("ops") for _ in range(4)]
    for tenant_id in ids:
        AlertChannel(tenant_id=tenant_id, email="ops@example.test").save()  # < 1 KB: 1 write unit each
    for tenant_id in ids:
        AlertChannel.get(tenant_id, consistent_read=True)  # strongly consistent, < 4 KB: 1 read unit each
    stale = AlertChannel(tenant_id=ids[0], email="stale@example.test", version=0)
    with pytest.raises(PutError):
        stale.save()  # a lost race: the version condition fails
    flush_usage()

    after = figures(staff)["alert-channels"]
    assert after["write"] - before["write"] == 4
    assert after["read"] - before["read"] == 4
    assert after["cost"] - before["cost"] == pytest.approx(4 * 1 + 4 * 2)
    assert after["condition_failures"] - before["condition_failures"] == 1


def test_pitr_says_it_is_not_available_on_dynamodb_local(staff, metering):
    page = staff.get("/account/operations/").content.decode()
    cells = re.findall(r'<td class="pitr">(.*?)</td>', page, re.S)
    assert cells and all("not available on DynamoDB Local" in cell for cell in cells)
    assert "unknownoperationexception" not in page.lower()


def test_the_page_shows_latency_per_operation_against_the_target(staff, metering):
    AlertChannel(tenant_id=new_id("ops")).save()
    flush_usage()
    page = staff.get("/account/operations/").content.decode()
    assert 'data-operation="PutItem"' in page and "target 10 ms" in page


def test_the_page_stays_within_its_call_budget(staff, metering):
    tables = len(all_models())
    tenants = len(list_tenants())
    queries.forget_descriptions()
    with track() as cold:
        staff.get("/account/operations/")
    with track() as warm:
        staff.get("/account/operations/")
    signed_in = 3  # session, user and tenant switcher reads of every page
    assert cold.calls <= 3 * tables + 12 + 5 * tenants + signed_in
    assert warm.calls <= 12 + 5 * tenants + signed_in
    assert "Scan" not in cold.operations


def test_a_tenant_admin_cannot_open_the_operations_page(acme_admin):
    assert acme_admin.get("/account/operations/").status_code == 403


def index_reads(client, index: str) -> float:
    page = client.get("/account/operations/").content.decode()
    found = re.search(rf"{re.escape(index)} · [\d,]+ items · ([\d.,]+) R", page)
    return float(found.group(1).replace(",", "")) if found else 0.0


def test_reads_on_an_index_are_counted_on_that_index(staff, metering):
    from dashboard.alerts.models import AlertFiring

    tenant_id = new_id("ops")
    AlertFiring(
        tenant_id=tenant_id,
        key="r#2026-12#50%",
        rule_id="r",
        rule_name="r",
        kind="budget",
        period="2026-12",
        threshold="50%",
        value_micro_usd=1,
        limit_micro_usd=1,
        message="m",
        fired_at="2026-12-01T00:00:00.000Z",
    ).save()
    before = index_reads(staff, "tenant_id-fired_at-index")
    flush_usage()
    for _ in range(3):
        assert len(list(AlertFiring.by_time.query(tenant_id))) == 1  # DynamoDB charges 0.5 unit each
    flush_usage()
    assert index_reads(staff, "tenant_id-fired_at-index") - before == 1.5


def test_the_success_metrics_show_a_tenants_adoption_success_rate_and_errors(staff, people):
    from dashboard.audit import services as audit
    from tests.analytics.conftest import make_tenant, run

    tenant = make_tenant(people, "Measured tenant")
    for status, error in [
        ("succeeded", None),
        ("succeeded", None),
        ("succeeded", None),
        ("failed", "Upstream 529: overloaded"),
    ]:
        fields = {"status": status, "error": error} if error else {"status": status}
        assert tenant.post("agent", run(**fields))[0] == 201
    audit.record(tenant.scope, "template.use", "template", "tpl_measured")  # what using a template records
    # The page lists the platform's five commonest errors: another tenant hits the same one often
    # enough to lead whatever other tests of the session recorded.
    other = make_tenant(people, "Overloaded tenant")
    other.post("agent", {"runs": [run(status="failed", error="Upstream 529: overloaded") for _ in range(20)]})

    page = staff.get("/account/operations/").content.decode()
    row = re.search(rf'<tr data-tenant="{tenant.tenant_id}">(.*?)</tr>', page, re.S).group(1)
    cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    # users, adopters, adoption (its one user used a template: the 50 % target is met), executions, success
    assert cells[0] == "1" and cells[1] == "1" and cells[2].startswith("100") and "met" in cells[2]
    assert cells[3] == "4" and cells[4].startswith("75")
    assert "Upstream 529: overloaded" in page


def test_spans_of_no_convention_below_no_agent_are_counted_per_scope_on_the_page(staff, web_server, people):
    tenant = make_tenant(people)
    plain_scope, agent_scope = slug("shop.http"), slug("shop.agent")
    captured = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "shop"}))
    provider.add_span_processor(SimpleSpanProcessor(captured))
    plain, agent = provider.get_tracer(plain_scope), provider.get_tracer(agent_scope)
    with plain.start_as_current_span("GET /orders"), plain.start_as_current_span("SELECT orders"):
        pass  # a trace of no convention at all: two spans not understood
    invoke = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": slug("shop")}
    with (
        agent.start_as_current_span("invoke_agent shop", attributes=invoke),
        plain.start_as_current_span("GET /inventory"),
    ):
        pass  # a plain span inside an agent run is one of its steps: understood
    provider.shutdown()
    select, get_orders, get_inventory, agent_span = captured.get_finished_spans()
    send = exporter(web_server, tenant.token)
    for batch in ([select, get_inventory], [get_orders, agent_span], [select, get_orders]):
        assert send.export(batch) == SpanExportResult.SUCCESS  # children first, then again: counted once
    page = staff.get("/account/operations/").content.decode()
    assert "Spans not understood" in page
    rows = dict(re.findall(r'<tr data-scope="([^"]+)" data-spans="(\d+)">', page))
    assert rows.get(plain_scope) == "2"
    assert agent_scope not in rows
