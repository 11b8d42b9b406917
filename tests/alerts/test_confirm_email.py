"""/analytics/alerts/confirm/<token>/: an alerts address receives alert mail only once someone there
confirmed it, through the link sent to it (signed out, GET then Confirm)."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client

from dashboard.alerts import queries, services
from dashboard.alerts.evaluation import run_pass
from dashboard.alerts.inputs import RuleInput
from dashboard.analytics.services import set_budget
from dashboard.core import clock
from tests.alerts.conftest import STAFF_SCOPE, confirm_from_mail, run

RECENT = timedelta(minutes=5)


def _budget_crossed(tenant, receiver) -> None:
    status, body = tenant.post("probe-agent", run(ago=RECENT))
    assert status == 201
    set_budget(STAFF_SCOPE, tenant.tenant_id, body["runs"][0]["cost_micro_usd"] * 2, None)
    services.create_rule(tenant.scope, None, RuleInput(name="Budget", kind="budget", thresholds=(50,)))


def test_an_address_gets_alert_mail_only_after_someone_there_confirmed_it(tenant, receiver, mailoutbox):
    _budget_crossed(tenant, receiver)
    services.save_channel(tenant.scope, None, "", "finance@tenant.test", None)
    [invitation] = mailoutbox
    assert invitation.to == ["finance@tenant.test"] and "/analytics/alerts/confirm/" in invitation.body
    page = tenant.client.get("/analytics/alerts/").content.decode()
    assert "not confirmed" in page and "finance@tenant.test" in page

    tenant.post("agent", run(ago=RECENT))  # crosses 50 %
    run_pass()
    assert len(mailoutbox) == 1  # still only the invitation: no alert to an unconfirmed address
    assert "has not confirmed it wants alerts" in " ".join(
        attempt.detail for attempt in queries.recent_firings(tenant.tenant_id)[0].attempts
    )

    confirmed = confirm_from_mail(mailoutbox)
    assert "finance@tenant.test now receives" in confirmed
    assert "confirmed" in tenant.client.get("/analytics/alerts/").content.decode()
    services.create_rule(tenant.scope, None, RuleInput(name="Whole budget", kind="budget", thresholds=(100,)))
    tenant.post("agent", run(ago=RECENT))  # spend is at 150 %: the new rule's 100 % fires
    run_pass()
    assert [mail.to for mail in mailoutbox] == [["finance@tenant.test"]]


def test_a_link_works_once_and_a_wrong_or_old_link_confirms_nothing(tenant, mailoutbox, monkeypatch):
    services.save_channel(tenant.scope, None, "", "ops@tenant.test", None)
    link = mailoutbox[-1].body.split("/analytics/alerts/confirm/")[1].split("/")[0]
    stranger = Client()
    forged = f"{tenant.tenant_id}.not-the-secret"
    assert stranger.post(f"/analytics/alerts/confirm/{forged}/").status_code == 422
    assert stranger.post("/analytics/alerts/confirm/no-dot-at-all/").status_code == 422
    assert queries.channel(tenant.tenant_id).email_confirmed_at is None

    later = clock.now() + timedelta(days=8)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert stranger.post(f"/analytics/alerts/confirm/{link}/").status_code == 422  # expired
    monkeypatch.undo()
    assert stranger.post(f"/analytics/alerts/confirm/{link}/").status_code == 200
    assert queries.channel(tenant.tenant_id).email_confirmed_at is not None
    assert stranger.post(f"/analytics/alerts/confirm/{link}/").status_code == 422  # used


def test_changing_the_address_asks_the_new_one_again(tenant, mailoutbox):
    services.save_channel(tenant.scope, None, "", "ops@tenant.test", None)
    confirm_from_mail(mailoutbox)
    channel = queries.channel(tenant.tenant_id)
    assert channel.email_confirmed_at is not None
    services.save_channel(tenant.scope, None, "", "other@tenant.test", channel.version)
    assert queries.channel(tenant.tenant_id).email_confirmed_at is None
    assert [mail.to for mail in mailoutbox] == [["other@tenant.test"]]
    tenant.client.post("/analytics/alerts/delivery/confirm-again")
    assert [mail.to for mail in mailoutbox] == [["other@tenant.test"], ["other@tenant.test"]]
