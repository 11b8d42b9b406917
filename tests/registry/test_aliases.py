"""Free aliases per model (champion, challenger, any name): set, moved atomically, audited, resolved."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from dashboard.apikeys import services as api_keys
from dashboard.audit.models import AuditEvent
from dashboard.core.errors import ValidationFailed
from dashboard.registry import queries, services
from tests.registry.test_concurrent_deploys import race


@pytest.fixture
def api(scopes):
    def make(tenant_id: str = "acme") -> Client:
        token = api_keys.create_key(scopes["staff"], tenant_id, "alias pipeline").token
        return Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    return make


def alias_events(model_id: str) -> list[AuditEvent]:
    return [
        event
        for event in AuditEvent.query("acme", scan_index_forward=False, limit=200)
        if event.target_id == model_id and event.action.startswith("model.alias")
    ]


def test_an_alias_is_set_then_moved_and_the_api_resolves_it(register, scopes, api):
    model = register(versions=("1.0.0", "1.1.0"))
    services.set_alias(scopes["acme"], model.model_id, "champion", "1.0.0")
    client = api()
    body = client.get(f"/api/models/{model.model_id}/aliases/champion").json()
    assert body["version"]["version"] == "1.0.0" and body["alias"] == "champion"

    moved = client.put(
        f"/api/models/{model.model_id}/aliases/champion",
        data=json.dumps({"version": "1.1.0"}),
        content_type="application/json",
    )
    assert moved.status_code == 200 and moved.json()["version"]["version"] == "1.1.0"
    assert (
        client.get(f"/api/models/{model.model_id}/aliases/champion").json()["version"]["version"] == "1.1.0"
    )
    changes = [event.changes["version"] for event in alias_events(model.model_id)]
    assert changes == ["1.0.0 → 1.1.0", "— → 1.0.0"]


def test_an_unknown_alias_or_another_tenants_model_is_404(register, scopes, api):
    model = register()
    services.set_alias(scopes["acme"], model.model_id, "challenger", "1.0.0")
    assert api().get(f"/api/models/{model.model_id}/aliases/champion").status_code == 404
    response = api("globex").get(f"/api/models/{model.model_id}/aliases/challenger")
    assert response.status_code == 404 and "1.0.0" not in response.content.decode()


def test_bad_alias_names_and_retired_versions_are_refused_and_change_nothing(register, scopes, api):
    model = register(versions=("1.0.0", "1.1.0"))
    services.change_status(scopes["acme"], model.model_id, "1.0.0", "retired")
    with pytest.raises(ValidationFailed) as bad_name:
        services.set_alias(scopes["acme"], model.model_id, "Not An Alias!", "1.1.0")
    assert "alias" in bad_name.value.fields
    with pytest.raises(ValidationFailed) as retired:
        services.set_alias(scopes["acme"], model.model_id, "champion", "1.0.0")
    assert "retired" in retired.value.message
    response = api().put(
        f"/api/models/{model.model_id}/aliases/champion",
        data=json.dumps({"version": "9.9.9"}),
        content_type="application/json",
    )
    assert response.status_code == 404 and response.json()["error"]["message"]
    assert queries.get_model(scopes["acme"], model.model_id, consistent=True).aliases is None
    assert alias_events(model.model_id) == []


def test_two_moves_at_once_both_land_one_after_the_other_and_both_are_audited(register, scopes):
    model = register(versions=("1.0.0", "1.1.0", "1.2.0"))
    services.set_alias(scopes["acme"], model.model_id, "champion", "1.0.0")
    results, errors = race(
        [
            lambda v=v: services.set_alias(scopes["acme"], model.model_id, "champion", v)
            for v in ("1.1.0", "1.2.0")
        ]
    )
    assert errors == [] and len(results) == 2
    final = queries.get_model(scopes["acme"], model.model_id, consistent=True).aliases["champion"].version
    # The one applied second moved the alias from where the first one put it: a chain, never a fork.
    first, second = sorted(results, key=lambda move: move.previous != "1.0.0")
    assert first.previous == "1.0.0" and second.previous == first.version and final == second.version
    moves = [event.changes["version"] for event in alias_events(model.model_id)]
    assert sorted(moves) == sorted(
        [f"1.0.0 → {first.version}", f"{first.version} → {second.version}", "— → 1.0.0"]
    )


def test_the_model_page_shows_aliases_and_sets_one(register, acme_admin):
    model = register(versions=("1.0.0", "1.1.0"))
    response = acme_admin.post(
        f"/models/{model.model_id}/aliases/", {"alias": "challenger", "version": "1.1.0"}, follow=True
    )
    html = response.content.decode()
    assert response.status_code == 200 and "challenger moved" not in html
    assert 'data-alias="challenger"' in html and "challenger now points to 1.1.0" in html
    bad = acme_admin.post(
        f"/models/{model.model_id}/aliases/", {"alias": "x y", "version": "1.1.0"}, follow=True
    )
    assert "short lower-case name" in bad.content.decode()
