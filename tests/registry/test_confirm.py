"""Moves that ask first: promote, roll back, retire and production changes (issue 16, item 4)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dashboard.accounts.queries import count_users
from dashboard.audit import queries as audit
from dashboard.core import clock
from dashboard.core.errors import ValidationFailed
from dashboard.core.scope import AccessScope
from dashboard.registry import services
from dashboard.registry.models import MlModel, RegistryVersion
from tests.conftest import client_for


def post(client, model, version, **data):
    return client.post(f"/models/{model.model_id}/versions/{version}/status/", data, follow=True)


def confirm_page(client, model, version, **params):
    return client.get(f"/models/{model.model_id}/versions/{version}/confirm/", params)


def stored(model, version):
    return RegistryVersion.get(model.model_id, version, consistent_read=True)


@pytest.fixture
def live_in_production(register, scopes):
    """A model whose 1.0.0 and then 1.1.0 went live in production (1.0.0 superseded)."""
    model = register(versions=("1.0.0", "1.1.0"))
    for version in ("1.0.0", "1.1.0"):
        services.change_status(
            scopes["staff@acme"], model.model_id, version, "deploying", "production", reason="go"
        )
        services.change_status(scopes["staff@acme"], model.model_id, version, "deployed", reason="went fine")
    return model


def test_a_roll_back_posted_without_its_confirmation_is_refused_and_changes_nothing(
    people, live_in_production
):
    staff = client_for(people["staff"])
    response = post(staff, live_in_production, "1.1.0", status="rolled_back", reason="bad answers")
    body = response.content.decode()
    assert "needs confirming first: nothing was changed" in body
    assert "Roll back" in body and 'name="confirmed" value="1"' in body  # landed on the confirmation step
    assert stored(live_in_production, "1.1.0").status == "deployed"


def test_retire_and_promote_ask_first_too(acme_admin, register, scopes):
    model = register(versions=("1.0.0", "1.1.0"))
    services.change_status(scopes["acme"], model.model_id, "1.1.0", "deploying", "dev")
    services.change_status(scopes["acme"], model.model_id, "1.1.0", "deployed")
    assert "needs confirming first" in post(acme_admin, model, "1.0.0", status="retired").content.decode()
    assert stored(model, "1.0.0").status == "registered"
    body = post(acme_admin, model, "1.1.0", status="deploying", environment="staging").content.decode()
    assert "needs confirming first" in body
    assert stored(model, "1.1.0").environment == "dev"


def test_the_confirmation_says_which_version_replaces_which_for_whom(people, register, scopes):
    model = register(versions=("1.0.0", "1.1.0"))
    services.change_status(
        scopes["staff@acme"], model.model_id, "1.0.0", "deploying", "production", reason="go"
    )
    services.change_status(scopes["staff@acme"], model.model_id, "1.0.0", "deployed", reason="fine")
    body = confirm_page(
        client_for(people["staff"]), model, "1.1.0", status="deploying", environment="production"
    ).content.decode()
    count = count_users("acme")
    audience = f"{count} {'person' if count == 1 else 'people'} of tenant Acme Robotics"
    assert "version 1.1.0 replaces version 1.0.0 in production" in body
    assert f"This changes production for {audience}." in body
    assert "required: it goes to the audit trail" in body
    assert stored(model, "1.1.0").status == "registered"  # asking changed nothing


def test_the_confirmation_of_a_roll_back_names_the_version_it_restores(people, live_in_production):
    body = confirm_page(client_for(people["staff"]), live_in_production, "1.1.0", status="rolled_back")
    assert "Version 1.0.0 replaces version 1.1.0 in production again." in body.content.decode()


def test_a_production_change_without_a_reason_is_refused_inline_and_changes_nothing(
    people, live_in_production
):
    staff = client_for(people["staff"])
    before = MlModel.get(live_in_production.model_id, consistent_read=True).row_version
    response = staff.post(
        f"/models/{live_in_production.model_id}/versions/1.1.0/status/",
        {"status": "rolled_back", "confirmed": "1", "reason": "   "},
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "Changes to production need a reason" in body and "Nothing was changed." in body
    assert 'aria-invalid="true"' in body
    assert stored(live_in_production, "1.1.0").status == "deployed"
    assert MlModel.get(live_in_production.model_id, consistent_read=True).row_version == before


def test_the_service_refuses_a_production_change_without_a_reason(live_in_production, scopes):
    with pytest.raises(ValidationFailed) as refused:
        services.change_status(scopes["staff@acme"], live_in_production.model_id, "1.1.0", "rolled_back")
    assert "reason" in refused.value.fields
    assert stored(live_in_production, "1.1.0").status == "deployed"


def test_the_reason_goes_to_the_audit_trail_and_the_deployment_history(people, live_in_production, scopes):
    staff = client_for(people["staff"])
    reason = "1.1.0 answers in the wrong language"
    body = post(
        staff, live_in_production, "1.1.0", status="rolled_back", confirmed="1", reason=reason
    ).content.decode()
    assert "1.0.0 is live again" in body
    assert stored(live_in_production, "1.1.0").status == "rolled_back"
    assert reason in body  # the deployment history on the detail page
    target = f"{live_in_production.model_id}@1.1.0"
    events = [e for e in audit.list_events(scopes["acme"], limit=50) if e.target_id == target]
    assert events[0].action == "model_version.rolled_back" and events[0].changes["reason"] == reason


def test_a_key_reporting_a_production_outcome_needs_no_reason(register, scopes):
    model = register()
    services.change_status(
        scopes["staff@acme"], model.model_id, "1.0.0", "deploying", "production", reason="go"
    )
    pipeline = AccessScope(role="api", tenant_id="acme", actor_id="key_x", actor_label="pipeline")
    services.change_status(pipeline, model.model_id, "1.0.0", "deployed")
    assert stored(model, "1.0.0").environment == "production"


def test_a_deployment_left_deploying_too_long_shows_stalled_and_the_list_stops_polling(
    acme_admin, register, scopes, settings, monkeypatch
):
    settings.REGISTRY_STALLED_AFTER_MINUTES = 30
    model = register()
    services.change_status(scopes["acme"], model.model_id, "1.0.0", "deploying", "staging")
    page = acme_admin.get(f"/models/?project={model.project_id}").content.decode()
    assert 'data-polling="on"' in page and "stalled" not in page
    started = clock.now()
    monkeypatch.setattr(clock, "now", lambda: started + timedelta(minutes=31))
    page = acme_admin.get(f"/models/?project={model.project_id}").content.decode()
    assert 'badge-bad">stalled' in page and 'title="deploying for over 30 minutes"' in page
    assert 'data-polling="on"' not in page
    poll = acme_admin.get(
        f"/models/?project={model.project_id}", HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER="models"
    )
    assert poll.status_code == 286  # htmx stops polling
    detail = acme_admin.get(f"/models/{model.model_id}/").content.decode()
    assert "deploying for over 30 minutes" in detail and 'data-polling="on"' not in detail
