"""The deploy / promote / roll back / retire buttons of the detail page."""

from dashboard.registry.models import RegistryVersion
from tests.conftest import client_for

# Production changes ask first and need a reason on the pages.
CONFIRMED = {"confirmed": "1", "reason": "release 1.0.0"}


def post(client, model, version, **data):
    return client.post(f"/models/{model.model_id}/versions/{version}/status/", data, follow=True)


def test_deploying_shows_a_message_and_the_new_state(acme_admin, register):
    model = register()
    response = post(acme_admin, model, "1.0.0", status="deploying", environment="staging")
    body = response.content.decode()
    assert "Deploying" in body and "to staging" in body
    assert RegistryVersion.get(model.model_id, "1.0.0").status == "deploying"


def test_a_tenant_admin_deploying_to_production_is_refused_with_a_message(acme_admin, register):
    model = register()
    body = post(acme_admin, model, "1.0.0", status="deploying", environment="production").content.decode()
    assert "Only Diatonic staff may change production" in body
    assert RegistryVersion.get(model.model_id, "1.0.0", consistent_read=True).status == "registered"


def test_staff_deploy_to_production(people, register):
    model = register()
    staff = client_for(people["staff"])
    post(staff, model, "1.0.0", status="deploying", environment="production", **CONFIRMED)
    body = post(staff, model, "1.0.0", status="deployed", **CONFIRMED).content.decode()
    assert "is live in production" in body


def test_an_illegal_move_is_refused_with_a_message(acme_admin, register):
    model = register()
    body = post(acme_admin, model, "1.0.0", status="deployed").content.decode()
    assert "cannot move to deployed" in body
    assert RegistryVersion.get(model.model_id, "1.0.0", consistent_read=True).status == "registered"


def test_other_tenants_cannot_move_a_version(globex_admin, register):
    model = register()
    response = globex_admin.post(f"/models/{model.model_id}/versions/1.0.0/status/", {"status": "retired"})
    assert response.status_code == 404
    assert RegistryVersion.get(model.model_id, "1.0.0", consistent_read=True).status == "registered"


def test_an_unknown_version_is_not_found(acme_admin, register):
    model = register()
    response = acme_admin.post(f"/models/{model.model_id}/versions/7.7.7/status/", {"status": "retired"})
    assert response.status_code == 404


def test_moving_needs_a_post(acme_admin, register):
    model = register()
    assert acme_admin.get(f"/models/{model.model_id}/versions/1.0.0/status/").status_code == 405
