"""Alert rules as code (issue #29): GET|POST /api/alerts/rules, GET|PUT|DELETE /api/alerts/rules/{id},
with the page's rules and versioning, in the OpenAPI document."""

from __future__ import annotations

import json

from django.test import Client

from dashboard.alerts import queries
from dashboard.audit import queries as audit

RULE = {
    "name": "Support errors",
    "kind": "metric",
    "metric": "error_rate",
    "scope": "agent",
    "subject": "support-bot",
    "window": "7d",
    "warning": 500,
    "critical": 2000,
    "renotify_minutes": 60,
}


def call(tenant, method: str, url: str, body=None, **query):
    client = Client()
    kwargs = {"HTTP_AUTHORIZATION": f"Bearer {tenant.token}"}
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    if body is not None:
        kwargs.update(data=json.dumps(body), content_type="application/json")
    response = getattr(client, method.lower())(url, **kwargs)
    return response.status_code, (response.json() if response.content else None)


def test_a_rule_is_created_read_replaced_and_deleted_with_its_version(tenant):
    status, created = call(tenant, "POST", "/api/alerts/rules", RULE)
    assert status == 201, created
    assert created["version"] == 1 and created["warning"] == 500 and created["window"] == "7d"
    rule_id = created["rule_id"]
    assert call(tenant, "GET", "/api/alerts/rules")[1]["items"] == [created]
    assert call(tenant, "GET", f"/api/alerts/rules/{rule_id}")[1] == created

    status, updated = call(
        tenant, "PUT", f"/api/alerts/rules/{rule_id}", {**RULE, "critical": 3000, "version": 1}
    )
    assert status == 200 and updated["critical"] == 3000 and updated["version"] == 2
    # A stale version is a conflict, and changes nothing.
    status, answer = call(
        tenant, "PUT", f"/api/alerts/rules/{rule_id}", {**RULE, "critical": 9000, "version": 1}
    )
    assert status == 409 and "meanwhile" in answer["error"]["message"]
    assert int(queries.rule(tenant.tenant_id, rule_id).critical) == 3000
    assert call(tenant, "DELETE", f"/api/alerts/rules/{rule_id}", version=1)[0] == 409
    assert call(tenant, "DELETE", f"/api/alerts/rules/{rule_id}", version=2)[0] == 204
    assert call(tenant, "GET", f"/api/alerts/rules/{rule_id}")[0] == 404
    actions = [event.action for event in audit.list_events(tenant.scope)]
    assert {"alert_rule.create", "alert_rule.update", "alert_rule.delete"} <= set(actions)


def test_the_page_and_the_api_refuse_the_same_rules(tenant):
    each_environment = {**RULE, "metric": "p95_ms", "scope": "environment", "subject": "", "critical": 100}
    status, answer = call(tenant, "POST", "/api/alerts/rules", each_environment)
    assert status == 422
    assert set(answer["error"]["fields"]) == {"critical"}
    status, answer = call(tenant, "POST", "/api/alerts/rules", {**RULE, "window": "1y"})
    assert status == 422 and "window" in answer["error"]["fields"]
    assert queries.rules(tenant.tenant_id) == []


def test_another_tenants_rule_is_not_found(tenant, tenant_factory):
    other = tenant_factory()
    rule_id = call(other, "POST", "/api/alerts/rules", RULE)[1]["rule_id"]
    assert call(tenant, "GET", f"/api/alerts/rules/{rule_id}")[0] == 404
    assert call(tenant, "PUT", f"/api/alerts/rules/{rule_id}", {**RULE, "version": 1})[0] == 404
    assert call(tenant, "DELETE", f"/api/alerts/rules/{rule_id}")[0] == 404
    assert call(tenant, "GET", "/api/alerts/rules")[1]["items"] == []


def test_the_rules_are_in_the_openapi_document():
    document = Client().get("/api/openapi.json").json()
    assert set(document["paths"]["/api/alerts/rules"]) >= {"get", "post"}
    assert set(document["paths"]["/api/alerts/rules/{rule_id}"]) >= {"get", "put", "delete"}
    assert "RuleOut" in document["components"]["schemas"]
    window = document["components"]["schemas"]["RuleIn"]["properties"]["window"]
    assert {"1h", "24h", "7d", "30d", "day", "month"} <= set(window["enum"])


def test_rules_over_the_last_hours_are_kept_for_a_tag_and_for_each_agent(tenant):
    status, created = call(tenant, "POST", "/api/alerts/rules", {**RULE, "window": "24h"})
    assert status == 201 and created["window"] == "24h"
    tagged = {**RULE, "scope": "tag", "subject": "checkout", "window": "1h"}
    status, answer = call(tenant, "POST", "/api/alerts/rules", tagged)
    assert status == 201 and (answer["scope"], answer["window"]) == ("tag", "1h")
    each = {**RULE, "metric": "p95_ms", "scope": "agent", "subject": "", "window": "1h", "warning": 900}
    status, answer = call(tenant, "POST", "/api/alerts/rules", each)
    assert status == 201 and (answer["metric"], answer["subject"]) == ("p95_ms", ""), answer
