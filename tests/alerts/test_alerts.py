"""Budget alerts: fired once per rule, period and threshold, delivered to the dashboard, a signed
webhook and email; survive a crash between the claim and the delivery; rules versioned and audited."""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from dashboard.alerts import queries, services
from dashboard.alerts.evaluation import evaluate_tenant, run_pass
from dashboard.alerts.inputs import RuleInput
from dashboard.analytics.queries import budget_status
from dashboard.analytics.services import set_budget
from dashboard.audit import queries as audit
from dashboard.core import clock
from dashboard.core.errors import Conflict
from tests.alerts.conftest import STAFF_SCOPE, confirm_from_mail, run, verify
from tests.conftest import element_by_id

RECENT = timedelta(minutes=5)


def cost_of_one_run(tenant) -> int:
    status, body = tenant.post("probe-agent", run(ago=RECENT))
    assert status == 201
    return body["runs"][0]["cost_micro_usd"]


def set_up(tenant, receiver, budget: int, thresholds=(50, 100), email="ops@tenant.test", outbox=None):
    set_budget(STAFF_SCOPE, tenant.tenant_id, budget, None)
    rule = services.create_rule(
        tenant.scope, None, RuleInput(name="Monthly budget", kind="budget", thresholds=tuple(thresholds))
    )
    channel = services.save_channel(tenant.scope, None, receiver.url, email, None)
    if email and outbox is not None:
        confirm_from_mail(outbox)  # someone at the address followed the link
    return rule, channel


def test_concurrent_writers_crossing_a_threshold_get_exactly_one_signed_webhook(tenant, receiver, mailoutbox):
    cost = cost_of_one_run(tenant)
    # One run already spent; 20 runs make the budget: 50 % is crossed around the 10th, 100 % never.
    _rule, channel = set_up(tenant, receiver, budget=cost * 20, outbox=mailoutbox)
    statuses = []

    def writer(n: int) -> None:
        for index in range(2):
            status, _ = tenant.post(f"agent-{n}", run(ago=RECENT, execution_id=f"exe-{n}-{index}"))
            statuses.append(status)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * 16  # 17 runs: 85 % of the budget
    assert receiver.received == []  # the requests only claimed: the delivery worker sends
    run_pass()

    hits = [hit for hit in receiver.received if hit["status"] == 204]
    assert len(hits) == 1
    hit = hits[0]
    assert verify(channel.webhook_secret, hit["body"], hit["headers"])
    assert not verify("whsec_" + "A" * 44, hit["body"], hit["headers"])
    assert hit["headers"]["webhook-timestamp"].isdigit()
    assert hit["headers"]["webhook-id"] == json.loads(hit["body"])["id"]
    body = json.loads(hit["body"])
    assert body["threshold"] == "50%" and body["tenant_id"] == tenant.tenant_id
    assert body["value_micro_usd"] >= cost * 10

    notes = queries.notifications(tenant.tenant_id).items
    assert len(notes) == 1 and "50 % of the budget" in notes[0].message
    assert queries.unread_count(tenant.tenant_id) == 1
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["ops@tenant.test"]

    # Later passes (and more runs below 100 %) fire nothing again.
    run_pass()
    tenant.post("agent-late", run(ago=RECENT))
    assert len([hit for hit in receiver.received if hit["status"] == 204]) == 1
    assert len(queries.notifications(tenant.tenant_id).items) == 1


def test_a_crash_between_claim_and_delivery_is_delivered_once_by_run_alerts(
    tenant, receiver, settings, mailoutbox
):
    settings.ALERTS_CHECK_ON_INGEST = False
    cost = cost_of_one_run(tenant)
    set_up(tenant, receiver, budget=cost * 2, thresholds=(50,), outbox=mailoutbox)
    tenant.post("agent", run(ago=RECENT))
    # The process "crashes" right after the claim: the claim is written, nothing delivered.
    claimed = evaluate_tenant(tenant.tenant_id, deliver=False)
    assert [firing.threshold for firing in claimed] == ["50%"]
    assert queries.recent_firings(tenant.tenant_id)[0].pending == "pending"
    assert receiver.received == [] and queries.notifications(tenant.tenant_id).items == []

    call_command("run_alerts")
    call_command("run_alerts")  # a second pass finds nothing left to do

    assert len(receiver.received) == 1
    assert len(queries.notifications(tenant.tenant_id).items) == 1
    assert len(mailoutbox) == 1
    firing = queries.recent_firings(tenant.tenant_id)[0]
    assert firing.pending is None
    assert (firing.notification_state, firing.webhook_state, firing.email_state) == ("done", "done", "done")


def test_a_failed_webhook_is_retried_with_backoff_and_its_log_shows_each_attempt(tenant, receiver, settings):
    settings.ALERTS_RETRY_SECONDS = 30
    receiver.fail_next = 1
    cost = cost_of_one_run(tenant)
    set_up(tenant, receiver, budget=cost * 2, thresholds=(50,), email="")
    tenant.post("agent", run(ago=RECENT))  # claims
    run_pass()  # delivers; the receiver answers 500
    assert [hit["status"] for hit in receiver.received] == [500]

    run_pass()  # too early: backing off
    assert len(receiver.received) == 1
    run_pass(now=clock.now() + timedelta(seconds=31))
    assert [hit["status"] for hit in receiver.received] == [500, 204]
    assert receiver.received[0]["body"] != b"" and json.loads(receiver.received[1]["body"])["id"]

    page = tenant.client.get("/analytics/alerts/").content.decode()
    assert "webhook: failed — the receiver answered an error (attempt 1)" in page
    assert "webhook: delivered — the receiver accepted it (attempt 2)" in page
    assert "HTTP 500" not in page and "HTTP 204" not in page  # the exact status: server log only


def test_a_spend_rule_fires_for_the_agent_over_its_daily_limit(tenant, receiver):
    cost = cost_of_one_run(tenant)
    services.create_rule(
        tenant.scope,
        None,
        RuleInput(name="Chatty agents", kind="agent_spend", limit_micro_usd=cost * 2, window="day"),
    )
    services.save_channel(tenant.scope, None, receiver.url, "", None)
    tenant.post("quiet", run(ago=RECENT))
    tenant.post("chatty", {"runs": [run(ago=RECENT), run(ago=RECENT)]})
    run_pass()
    bodies = receiver.bodies()
    assert [(body["subject"], body["threshold"]) for body in bodies] == [("chatty", "limit")]


def test_editing_a_rule_with_a_stale_version_is_a_conflict_and_changes_nothing(tenant):
    rule = services.create_rule(tenant.scope, None, RuleInput(name="Budget", kind="budget"))
    services.update_rule(
        tenant.scope, None, rule.rule_id, RuleInput(name="Renamed", kind="budget"), rule.version
    )
    with pytest.raises(Conflict):
        services.update_rule(
            tenant.scope, None, rule.rule_id, RuleInput(name="Stale", kind="budget"), rule.version
        )
    assert queries.rule(tenant.tenant_id, rule.rule_id).name == "Renamed"
    actions = [event.action for event in audit.list_events(tenant.scope)]
    assert actions.count("alert_rule.create") == 1 and actions.count("alert_rule.update") == 1

    response = tenant.client.post(
        f"/analytics/alerts/rules/{rule.rule_id}/",
        {
            "name": "Stale page",
            "kind": "budget",
            "window": "month",
            "version": rule.version,
            "action": "save",
        },
    )
    assert response.status_code == 409
    assert "Someone else changed the rule" in response.content.decode()


def test_a_spend_rule_without_a_limit_is_refused_inline_and_nothing_is_saved(tenant):
    response = tenant.client.post(
        "/analytics/alerts/rules/new", {"name": "No limit", "kind": "user_spend", "window": "day"}
    )
    assert response.status_code == 422
    assert "A spend rule needs a limit in dollars." in response.content.decode()
    assert queries.rules(tenant.tenant_id) == []


def test_another_tenants_rule_is_not_found(tenant, tenant_factory):
    rule = services.create_rule(tenant.scope, None, RuleInput(name="Budget", kind="budget"))
    other = tenant_factory()
    assert other.client.get(f"/analytics/alerts/rules/{rule.rule_id}/").status_code == 404


def test_a_webhook_to_the_platforms_own_network_is_refused(settings):
    from dashboard.alerts.inputs import clean_webhook_url
    from dashboard.core.errors import ValidationFailed

    settings.ALERTS_WEBHOOK_ALLOW_PRIVATE = False
    for url in (
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:9000/hook",
        "http://10.0.0.5/x",
    ):
        with pytest.raises(ValidationFailed) as refused:
            clean_webhook_url(url)
        assert "webhook_url" in refused.value.fields
    assert clean_webhook_url("https://93.184.216.34/hook") == "https://93.184.216.34/hook"


def test_a_forecast_rule_fires_once_when_the_run_rate_would_overspend_the_month(
    tenant, receiver, monkeypatch
):
    # Mid-month, so that the rest of the month is long enough for the run rate to matter.
    mid_month = datetime(2026, 11, 15, 12, tzinfo=UTC)
    monkeypatch.setattr(clock, "now", lambda: mid_month)
    cost = cost_of_one_run(tenant)  # today: month to date only
    status, _ = tenant.post("busy", {"runs": [run(ago=timedelta(days=3)) for _ in range(4)]})
    assert status == 201
    set_budget(STAFF_SCOPE, tenant.tenant_id, cost * 8, None)  # 5 runs spent: under budget
    services.create_rule(tenant.scope, None, RuleInput(name="Heading over", kind="forecast"))
    services.save_channel(tenant.scope, None, receiver.url, "", None)
    status_now = budget_status(tenant.tenant_id, cost * 8, mid_month)
    assert status_now.month_to_date_micro_usd < cost * 8 < status_now.forecast_micro_usd

    assert [firing.threshold for firing in evaluate_tenant(tenant.tenant_id)] == ["forecast"]
    assert evaluate_tenant(tenant.tenant_id) == []  # once per month, however often it is checked
    bodies = receiver.bodies()
    assert [(body["threshold"], body["period"]) for body in bodies] == [("forecast", "2026-11")]
    assert "above the budget of" in queries.notifications(tenant.tenant_id).items[0].message


def test_a_forecast_under_budget_fires_nothing(tenant, receiver, monkeypatch):
    mid_month = datetime(2026, 11, 15, 12, tzinfo=UTC)
    monkeypatch.setattr(clock, "now", lambda: mid_month)
    cost = cost_of_one_run(tenant)
    tenant.post("busy", {"runs": [run(ago=timedelta(days=3)) for _ in range(4)]})
    set_budget(STAFF_SCOPE, tenant.tenant_id, cost * 100, None)
    services.create_rule(tenant.scope, None, RuleInput(name="Heading over", kind="forecast"))
    services.save_channel(tenant.scope, None, receiver.url, "", None)
    assert evaluate_tenant(tenant.tenant_id) == []
    assert receiver.bodies() == []


def test_the_rules_page_groups_fields_by_kind_and_reads_as_people_write(tenant, receiver):
    cost = cost_of_one_run(tenant)
    services.create_rule(
        tenant.scope,
        None,
        RuleInput(name="Chatty agents", kind="agent_spend", limit_micro_usd=500_000, window="day"),
    )
    services.create_rule(
        tenant.scope, None, RuleInput(name="Tiny", kind="user_spend", limit_micro_usd=cost, window="day")
    )
    services.save_channel(tenant.scope, None, receiver.url, "", None)
    tenant.post("chatty", {"runs": [run(ago=RECENT), run(ago=RECENT)]})  # "Tiny" fires for the user
    run_pass()
    page = tenant.client.get("/analytics/alerts/").content.decode()
    table = element_by_id(page, "rule-table")
    # The kind by its label, the limit in the site's money format.
    assert "Spend of an agent over a limit" in table and "agent_spend" not in table.replace('"', " ")
    assert "over $0.50 per day" in table and "$0.5000" not in table
    # Fields grouped by the kind they belong to (app.js shows only the chosen kind's group).
    form = element_by_id(page, "rule-form")
    assert 'data-show-for="kind"' in form
    budget = element_by_id(form, "rule-budget-fields")
    spend = element_by_id(form, "rule-spend-fields")
    assert 'data-when="budget"' in budget and 'name="thresholds"' in budget and 'name="limit"' not in budget
    assert 'data-when="agent_spend user_spend"' in spend
    assert " hidden" not in budget.split(">")[0] + spend.split(">")[0]  # without JavaScript all show
    assert all(f'name="{name}"' in spend for name in ("subject", "limit", "window"))
    # A checkbox sits inside its label, on one line with it.
    assert re.search(
        r'<label class="check" for="id_enabled"><input type="checkbox"[^>]*> Enabled</label>', form
    )
    # The signing secret says what to do with it, in place.
    assert "README" not in page and "HMAC-SHA256 of <code>webhook-id.webhook-timestamp.body</code>" in page
    # Times readable, the exact ISO time kept for machines.
    log = element_by_id(page, "delivery-log")
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT[^"]+Z"', log)
    notes = tenant.client.get("/analytics/alerts/notifications/").content.decode()
    listing = element_by_id(notes, "notification-list")
    assert re.search(
        r'<time datetime="\d{4}-\d\d-\d\dT[^"]+Z"[^>]*>\w{3} \d+, \d{4} \d\d:\d\d UTC</time>', listing
    )
    assert not re.search(r">\s*\d{4}-\d\d-\d\dT", listing)  # no raw ISO time as text


def _claimed(tenant_id: str) -> list[str]:
    return [f"{firing.rule_id}:{firing.threshold}" for firing in queries.recent_firings(tenant_id)]


def test_an_opentelemetry_trace_crossing_the_budget_fires_at_once(tenant, receiver, web_server):
    from opentelemetry.sdk.trace.export import SpanExportResult

    from tests.api.spans import COST, exporter, record_agent_run

    set_up(tenant, receiver, budget=COST * 2, thresholds=(50,))
    assert _claimed(tenant.tenant_id) == []
    result = exporter(web_server, tenant.token).export(record_agent_run("traced-agent"))
    assert result == SpanExportResult.SUCCESS
    assert len(_claimed(tenant.tenant_id)) == 1  # claimed by the export itself, not a later pass


def test_a_bulk_import_crossing_the_budget_fires_once_it_is_in(tenant, receiver, tmp_path):
    cost = cost_of_one_run(tenant)
    set_up(tenant, receiver, budget=cost * 4, thresholds=(100,))
    lines = [
        json.dumps({**run(ago=RECENT, execution_id=f"imported-{n}"), "agent_id": "batch-agent"})
        for n in range(6)
    ]
    path = tmp_path / "runs.jsonl"
    path.write_text("\n".join(lines) + "\n")
    call_command("import_executions", str(path), "--tenant", tenant.tenant_id, "--quiet")
    assert len(_claimed(tenant.tenant_id)) == 1
