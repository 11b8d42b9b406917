"""The protection page and the approvals queue, as tenant admins and staff use them."""

import contextlib

import pytest

from dashboard.registry import services
from dashboard.registry.models import ChangeRequest, RegistryPolicy, RegistryVersion
from tests.conftest import client_for


@pytest.fixture
def unprotected():
    yield
    with contextlib.suppress(RegistryPolicy.DoesNotExist):
        RegistryPolicy.get("acme").delete()


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def test_a_tenant_admin_protects_production_and_the_champion_alias(acme_admin, unprotected):
    page = acme_admin.get("/models/governance/")
    assert page.status_code == 200 and "Protected environments" in page.content.decode()
    saved = acme_admin.post(
        "/models/governance/",
        {
            "protected_environments": ["production"],
            "protected_aliases": "champion, challenger",
            "requesters": ["tenant_admin"],
            "expiry_hours": "24",
        },
    )
    assert saved.status_code == 302
    policy = RegistryPolicy.get("acme", consistent_read=True)
    assert policy.protected_environments == ["production"]
    assert policy.protected_aliases == ["challenger", "champion"] and policy.expiry_hours == 24


def test_bad_protection_is_refused_and_changes_nothing(acme_admin, unprotected):
    response = acme_admin.post(
        "/models/governance/", {"protected_aliases": "Not An Alias!", "expiry_hours": "0"}
    )
    assert response.status_code == 422
    with pytest.raises(RegistryPolicy.DoesNotExist):
        RegistryPolicy.get("acme", consistent_read=True)


def test_a_request_from_the_page_waits_in_the_queue_with_both_versions_metrics(
    acme_admin, staff, people, register, scopes, unprotected
):
    services.save_policy(
        scopes["acme"], {"protected_environments": ["production"], "requesters": ["tenant_admin"]}
    )
    model = register(versions=("1.0.0", "1.1.0"))
    services.change_status(scopes["staff@acme"], model.model_id, "1.0.0", "deploying", "staging")
    services.change_status(scopes["staff@acme"], model.model_id, "1.0.0", "deployed")
    detail = acme_admin.get(f"/models/{model.model_id}/").content.decode()
    assert "protected" in detail and "Deploy to production…" in detail
    asked = acme_admin.post(
        f"/models/{model.model_id}/versions/1.1.0/status/",
        {"status": "deploying", "environment": "production", "confirmed": "1", "reason": "accuracy up"},
        follow=True,
    )
    assert asked.redirect_chain[-1][0] == "/models/approvals/"
    html = asked.content.decode()
    assert "waits for another person" in html and "You asked for this change" in html
    assert "accuracy" in html and "0.91" in html and "0.9" in html  # both versions' metrics
    assert RegistryVersion.get(model.model_id, "1.1.0", consistent_read=True).status == "registered"
    request_id = next(
        r.request_id
        for r in ChangeRequest.query("acme", scan_index_forward=False, limit=5)
        if r.model_id == model.model_id
    )
    staff_acme = client_for(people["staff"], _tenant_focus="acme")
    queue = staff_acme.get("/models/approvals/").content.decode()
    assert f'action="/models/approvals/{request_id}/"' in queue
    own = acme_admin.post(
        f"/models/approvals/{request_id}/", {"decision": "approve", "reason": "mine"}, follow=True
    )
    assert "another person must approve" in " ".join(messages_of(own))
    decided = staff_acme.post(
        f"/models/approvals/{request_id}/", {"decision": "approve", "reason": "checked"}, follow=True
    )
    assert any(m.startswith("Approved") for m in messages_of(decided))
    assert RegistryVersion.get(model.model_id, "1.1.0", consistent_read=True).status == "deploying"
    assert "checked" in decided.content.decode()  # recently decided, with the reason


def test_another_tenants_request_is_a_404(globex_admin, register, scopes, unprotected):
    services.save_policy(scopes["acme"], {"protected_aliases": "champion", "requesters": ["tenant_admin"]})
    model = register()
    asked = services.set_alias(scopes["acme"], model.model_id, "champion", "1.0.0", reason="best")
    response = globex_admin.post(
        f"/models/approvals/{asked.request.request_id}/", {"decision": "approve", "reason": "x"}
    )
    assert response.status_code == 404
    assert ChangeRequest.get("acme", asked.request.request_id).state == "open"


def test_another_tenant_admin_is_told_production_requests_are_staffs_to_approve(
    people, register, scopes, unprotected
):
    from dashboard.accounts import services as accounts
    from tests.conftest import unique

    services.save_policy(
        scopes["acme"], {"protected_environments": ["production"], "requesters": ["tenant_admin"]}
    )
    model = register()
    asked = services.change_status(
        scopes["acme"], model.model_id, "1.0.0", "deploying", "production", reason="go"
    )
    alan = accounts.create_user(f"{unique('alan')}@acme.test", "pw-123456789", "tenant_admin", "acme")
    html = client_for(alan).get("/models/approvals/").content.decode()
    card = html[html.index(f'data-request="{asked.request.request_id}"') :]
    card = card[: card.index("</article>")]
    assert "approved by Diatonic staff" in card and "decide-form" not in card
