"""Registry events reach the tenant's webhook through the alerts delivery: each once, signed, with
a "send test event" action; a tenant without a webhook gets nothing written."""

import json

from dashboard.accounts.access import scope_for_user
from dashboard.alerts import services as alerts
from dashboard.alerts.evaluation import deliver_pending
from dashboard.alerts.models import AlertFiring
from dashboard.registry import services
from tests.alerts.conftest import receiver, verify  # noqa: F401 — the fixture, used by name
from tests.analytics.conftest import make_tenant
from tests.registry.conftest import make_project, version_data


def test_every_registry_change_is_delivered_once_and_signed(people, receiver):  # noqa: F811
    kit = make_tenant(people, "Events tenant")
    staff = scope_for_user(people["staff"], kit.tenant_id)
    channel = alerts.save_channel(kit.scope, None, receiver.url, "", None)
    project = make_project(kit.tenant_id)
    model, _ = services.register_model(
        kit.scope, {"name": "router", "project_id": project.project_id, **version_data("1.0.0")}
    )
    services.save_policy(
        kit.scope, {"protected_environments": ["production"], "requesters": ["tenant_admin"]}
    )
    asked = services.change_status(kit.scope, model.model_id, "1.0.0", "deploying", "production", reason="go")
    services.decide_request(staff, asked.request.request_id, "approve", "looks right")
    services.set_alias(kit.scope, model.model_id, "challenger", "1.0.0")

    deliver_pending()
    deliver_pending()  # a second pass sends nothing again

    bodies = [json.loads(hit["body"]) for hit in receiver.received]
    types = [body["type"] for body in bodies]
    assert sorted(types) == sorted(
        [
            "model_version.registered",
            "approval.requested",
            "approval.decided",
            "model_version.deployment_changed",
            "model.alias_moved",
        ]
    )
    assert len({hit["headers"]["webhook-id"] for hit in receiver.received}) == len(types)
    assert all(verify(channel.webhook_secret, hit["body"], hit["headers"]) for hit in receiver.received)
    deployed = next(b for b in bodies if b["type"] == "model_version.deployment_changed")
    assert deployed["data"]["status"] == "deploying" and deployed["data"]["environment"] == "production"
    assert deployed["data"]["approved_by"] == "staff@diatonic.test"
    decided = next(b for b in bodies if b["type"] == "approval.decided")
    assert decided["data"]["state"] == "approved" and decided["data"]["reason"] == "looks right"


def test_send_test_event_from_the_protection_page(people, receiver):  # noqa: F811
    kit = make_tenant(people, "Test event tenant")
    answer = kit.client.post("/models/governance/test-event/", follow=True)
    assert "no webhook yet" in answer.content.decode()
    assert list(AlertFiring.query(kit.tenant_id)) == []

    channel = alerts.save_channel(kit.scope, None, receiver.url, "", None)
    answer = kit.client.post("/models/governance/test-event/", follow=True)
    assert "queued" in answer.content.decode()
    deliver_pending()
    assert [json.loads(hit["body"])["type"] for hit in receiver.received] == ["test"]
    assert verify(channel.webhook_secret, receiver.received[0]["body"], receiver.received[0]["headers"])


def test_no_webhook_no_event_rows(people):
    kit = make_tenant(people, "Quiet events tenant")
    project = make_project(kit.tenant_id)
    services.register_model(kit.scope, {"name": "quiet", "project_id": project.project_id, **version_data()})
    assert list(AlertFiring.query(kit.tenant_id)) == []
