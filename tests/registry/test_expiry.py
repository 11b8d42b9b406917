"""Expired change requests on the real engine: they leave the queue, the API and the model page at
once, cannot be approved (nothing changes), and are closed as expired in the audit trail when next
touched or by the background worker's pass."""

import json
from datetime import timedelta

import pytest
from django.test import Client

from dashboard.alerts import scheduler
from dashboard.apikeys import services as api_keys
from dashboard.audit.models import AuditEvent
from dashboard.core import clock
from dashboard.core.errors import Conflict
from dashboard.registry import queries, services
from dashboard.registry.models import ChangeRequest, RegistryPolicy, RegistryVersion

PROTECTED = {"protected_environments": ["production"], "requesters": ["tenant_admin", "api"]}


@pytest.fixture
def protected(scopes):
    services.save_policy(scopes["acme"], PROTECTED)
    yield
    RegistryPolicy.get("acme").delete()


def actions(target_id: str) -> list[str]:
    return [
        e.action
        for e in AuditEvent.query("acme", scan_index_forward=False, limit=80)
        if e.target_id == target_id
    ]


@pytest.fixture
def asked(register, scopes, protected):
    model = register(versions=("1.0.0",))
    change = services.change_status(
        scopes["acme"], model.model_id, "1.0.0", "deploying", "production", reason="first release"
    )
    return model, change.request


def later(monkeypatch, request, hours=73):
    moment = request.expires_at + timedelta(hours=hours - 72)
    monkeypatch.setattr(clock, "now", lambda: moment)
    return moment


def test_an_expired_request_leaves_the_queue_the_api_and_the_model_page(
    asked, scopes, acme_admin, monkeypatch
):
    token = api_keys.create_key(scopes["staff"], "acme", "release pipeline").token
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    model, request = asked
    page = acme_admin.get(f"/models/{model.model_id}/").content.decode()
    assert f'data-request="{request.request_id}"' in page  # open: the model page says it waits
    later(monkeypatch, request)
    assert request.request_id not in [r.request_id for r in queries.open_requests(scopes["acme"])]
    queue = acme_admin.get("/models/approvals/").content.decode()
    assert f'class="card change-request" data-request="{request.request_id}"' not in queue
    listed = api.get("/api/models/approvals?limit=100").json()["items"]
    assert request.request_id not in [item["request_id"] for item in listed]
    page = acme_admin.get(f"/models/{model.model_id}/").content.decode()
    assert f'data-request="{request.request_id}"' not in page
    decided = api.post(
        f"/api/models/approvals/{request.request_id}",
        data=json.dumps({"decision": "approve", "reason": "late but fine"}),
        content_type="application/json",
    )
    assert decided.status_code == 409 and "expired at" in decided.json()["error"]["message"]
    assert RegistryVersion.get(model.model_id, "1.0.0", consistent_read=True).status == "registered"


def test_an_expired_request_cannot_be_approved_and_is_closed_as_expired(asked, scopes, monkeypatch):
    model, request = asked
    later(monkeypatch, request)
    with pytest.raises(Conflict, match="expired at .* nothing was changed"):
        services.decide_request(scopes["staff@acme"], request.request_id, "approve", "looks fine")
    stored = ChangeRequest.get("acme", request.request_id, consistent_read=True)
    assert stored.state == "expired" and stored.open_tenant is None and stored.decided_by is None
    assert RegistryVersion.get(model.model_id, "1.0.0", consistent_read=True).status == "registered"
    assert actions(request.request_id).count("model.change_expired") == 1
    # Touched again: the same clear message, nothing written twice.
    with pytest.raises(Conflict, match="expired at"):
        services.decide_request(scopes["staff@acme"], request.request_id, "reject", "late")
    assert actions(request.request_id).count("model.change_expired") == 1


def test_the_background_pass_closes_expired_requests_and_leaves_open_ones(
    register, asked, scopes, monkeypatch
):
    _model, request = asked
    other = register(versions=("2.0.0",))
    fresh = services.change_status(
        scopes["acme"], other.model_id, "2.0.0", "deploying", "production", reason="later ask"
    ).request
    moment = later(monkeypatch, request)
    fresh.refresh(consistent_read=True)
    fresh.expires_at = moment + timedelta(hours=5)  # asked later: still open at that moment
    fresh.save()
    # The pass's parts over every tenant of the session's tables (alerts, packing each tenant's
    # figures for the moved-on day, the templates' figures) have their own tests; here they took
    # minutes by the end of the suite.
    for part in ("run_pass", "deliver_pending"):
        monkeypatch.setattr(scheduler, part, lambda: None)
    monkeypatch.setattr(scheduler.compaction, "run_pass", lambda: [])
    monkeypatch.setattr(scheduler.template_summaries, "run_pass", lambda: None)
    scheduler.one_pass()
    stored = ChangeRequest.get("acme", request.request_id, consistent_read=True)
    assert stored.state == "expired" and stored.open_tenant is None
    assert "model.change_expired" in actions(request.request_id)
    assert ChangeRequest.get("acme", fresh.request_id, consistent_read=True).state == "open"
    open_ids = [r.request_id for r in ChangeRequest.open_requests.query("acme")]
    assert request.request_id not in open_ids and fresh.request_id in open_ids
    services.decide_request(scopes["staff@acme"], fresh.request_id, "reject", "not now")
