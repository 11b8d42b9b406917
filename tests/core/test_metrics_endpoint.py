"""GET /metrics: what Prometheus scrapes, read back with Prometheus' own text parser after real requests."""

from __future__ import annotations

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from tests.analytics.conftest import make_tenant, run, slug


def scrape(client: Client | None = None, **headers) -> dict[str, list]:
    response = (client or Client()).get("/metrics", headers=headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    families = text_string_to_metric_families(response.content.decode())
    return {family.name: family.samples for family in families}


def value(samples: list, name: str, **labels) -> float:
    return sum(
        sample.value
        for sample in samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def test_requests_are_counted_by_route_name_and_status_with_latency(acme_admin, dynamodb_local):
    before = scrape()
    assert acme_admin.get("/templates/").status_code == 200
    assert acme_admin.get("/templates/no-such-template-xyz/").status_code == 404
    after = scrape()
    requests = after["dashboard_http_requests"]
    route = "marketplace:browse"
    assert (
        value(requests, "dashboard_http_requests_total", route=route, status="200")
        == value(
            before.get("dashboard_http_requests", []),
            "dashboard_http_requests_total",
            route=route,
            status="200",
        )
        + 1
    )
    # The raw path never becomes a label: one series per URL pattern, whatever the ids in it.
    assert not any("no-such-template-xyz" in str(s.labels) for s in requests)
    assert any(s.labels["status"] == "404" for s in requests)
    latency = after["dashboard_http_request_duration_seconds"]
    assert value(latency, "dashboard_http_request_duration_seconds_count", route=route) >= 1
    assert any(s.name.endswith("_bucket") and s.labels["le"] == "+Inf" for s in latency)


def test_dynamodb_calls_units_and_errors_are_counted_by_table_and_operation(acme_admin, dynamodb_local):
    before = scrape()
    acme_admin.get("/templates/")
    after = scrape()
    calls = lambda fams: value(  # noqa: E731
        fams.get("dashboard_dynamodb_calls", []),
        "dashboard_dynamodb_calls_total",
        table="sessions",
        operation="GetItem",
    )
    assert calls(after) > calls(before)
    units = after["dashboard_dynamodb_consumed_units"]
    assert value(units, "dashboard_dynamodb_consumed_units_total", table="sessions", kind="read") > 0
    assert "dashboard_dynamodb_errors" in after and "dashboard_dynamodb_throttles" in after


def test_ingestion_counts_stored_duplicate_and_refused_executions(people):
    tenant = make_tenant(people)
    agent = slug("agent")
    before = scrape()
    assert tenant.post(agent, run("exe-m1"))[0] == 201
    assert tenant.post(agent, run("exe-m1"))[0] == 200
    assert tenant.post(agent, {"runs": "not a list"})[0] in (400, 422)
    after = scrape()

    def delta(family: str, name: str, **labels) -> float:
        return value(after[family], name, **labels) - value(before.get(family, []), name, **labels)

    assert delta("dashboard_ingested_items", "dashboard_ingested_items_total", kind="executions") == 1
    assert delta("dashboard_ingest_duplicates", "dashboard_ingest_duplicates_total", kind="executions") == 1
    assert delta("dashboard_ingest_rejected", "dashboard_ingest_rejected_total", kind="executions") == 1
    assert "dashboard_alert_deliveries" in after


def test_a_token_protects_the_metrics_when_set(settings, dynamodb_local):
    settings.METRICS_TOKEN = "s3cret-scrape-token"
    assert Client().get("/metrics").status_code == 401
    assert Client().get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert Client().get("/metrics", headers={"Authorization": "Basic s3cret-scrape-token"}).status_code == 401
    assert "dashboard_http_requests" in scrape(Authorization="Bearer s3cret-scrape-token")


@pytest.mark.parametrize("cookie", [False, True])
def test_a_scrape_makes_no_dynamodb_call(acme_admin, cookie, settings):
    settings.DYNAMODB_CALL_HEADERS = True
    response = (acme_admin if cookie else Client()).get("/metrics")
    assert response["X-DynamoDB-Calls"] == "0"


def test_the_example_grafana_dashboard_charts_only_series_the_dashboard_exposes(acme_admin):
    import json
    import re

    from django.conf import settings

    acme_admin.get("/templates/")
    exposed = scrape()
    # A family is listed even before its first sample (a counter nothing has incremented yet).
    families = set(exposed)
    dashboard = json.loads((settings.BASE_DIR / "deploy" / "grafana-dashboard.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    used = {name for expr in exprs for name in re.findall(r"\bdashboard_[a-z_]+", expr)}
    assert used and {re.sub(r"_(total|bucket|count|sum)$", "", name) for name in used} <= families
