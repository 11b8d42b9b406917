"""Protected production and aliases on the real engine: a change becomes a request, another person
decides it, and races (two approvers, approval against a retirement) have one winner."""

import pytest

from dashboard.accounts import services as accounts
from dashboard.accounts.access import scope_for_user
from dashboard.audit.models import AuditEvent
from dashboard.core.errors import Conflict, PermissionDenied, ValidationFailed
from dashboard.registry import queries, services
from dashboard.registry.models import ChangeRequest, RegistryPolicy, RegistryVersion
from tests.conftest import unique
from tests.registry.test_concurrent_deploys import race

PROTECTED = {"protected_environments": ["production"], "protected_aliases": ["champion"]}


@pytest.fixture
def alan(people):
    return scope_for_user(
        accounts.create_user(f"{unique('alan')}@acme.test", "pw-123456789", "tenant_admin", "acme")
    )


@pytest.fixture
def protected(scopes):
    services.save_policy(scopes["acme"], {**PROTECTED, "requesters": ["tenant_admin", "api"]})
    yield
    RegistryPolicy.get("acme").delete()


def audit_actions(tenant_id: str, target_id: str) -> list[str]:
    return [
        e.action
        for e in AuditEvent.query(tenant_id, scan_index_forward=False, limit=50)
        if e.target_id == target_id
    ]


def test_a_production_deploy_by_a_tenant_admin_becomes_a_request_and_changes_nothing(
    register, scopes, protected
):
    model = register(versions=("1.0.0", "1.1.0"))
    change = services.change_status(
        scopes["acme"], model.model_id, "1.1.0", "deploying", "production", reason="recall up"
    )
    assert change.request is not None and change.request.state == "open"
    assert "waits for another person" in change.message
    assert RegistryVersion.get(model.model_id, "1.1.0", consistent_read=True).status == "registered"
    assert (
        queries.get_model(scopes["acme"], model.model_id, consistent=True).environments["production"].pending
        is None
    )
    assert [r.request_id for r in queries.open_requests(scopes["acme"])].count(change.request.request_id) == 1
    assert "model.change_requested" in audit_actions("acme", change.request.request_id)


def test_staging_is_not_protected_and_moves_at_once(register, scopes, protected):
    model = register()
    change = services.change_status(scopes["acme"], model.model_id, "1.0.0", "deploying", "staging")
    assert change.request is None and change.version.status == "deploying"


def test_a_request_needs_a_reason(register, scopes, protected):
    model = register()
    with pytest.raises(ValidationFailed) as exc:
        services.change_status(scopes["acme"], model.model_id, "1.0.0", "deploying", "production")
    assert "reason" in exc.value.fields


def test_the_requester_cannot_approve_and_another_person_can(register, scopes, protected):
    model = register(versions=("1.0.0", "1.1.0"))
    asked = services.change_status(
        scopes["acme"], model.model_id, "1.1.0", "deploying", "production", reason="go"
    )
    request_id = asked.request.request_id
    with pytest.raises(PermissionDenied, match="another person"):
        services.decide_request(scopes["acme"], request_id, "approve", "my own")
    decided = services.decide_request(scopes["staff@acme"], request_id, "approve", "metrics are better")
    assert decided.request.state == "approved"
    version = RegistryVersion.get(model.model_id, "1.1.0", consistent_read=True)
    assert version.status == "deploying" and version.stage == "production"
    entry = version.deployments[-1]
    assert (entry.by, entry.approved_by, entry.reason) == (
        scopes["acme"].actor_label,
        "staff@diatonic.test",
        "go",
    )
    assert request_id not in [r.request_id for r in queries.open_requests(scopes["acme"])]
    assert "model.change_approved" in audit_actions("acme", request_id)


def test_a_tenant_admin_cannot_approve_production_which_stays_staffs(register, scopes, protected, alan):
    model = register()
    asked = services.change_status(
        scopes["acme"], model.model_id, "1.0.0", "deploying", "production", reason="go"
    )
    with pytest.raises(PermissionDenied, match="staff"):
        services.decide_request(alan, asked.request.request_id, "approve", "fine by me")
    assert ChangeRequest.get("acme", asked.request.request_id).state == "open"


def test_a_protected_alias_moves_once_another_admin_approves(register, scopes, protected, alan):
    model = register(versions=("1.0.0", "1.1.0"))
    asked = services.set_alias(scopes["acme"], model.model_id, "champion", "1.1.0", reason="new best")
    assert asked.request is not None
    assert "champion" not in (
        queries.get_model(scopes["acme"], model.model_id, consistent=True).aliases or {}
    )
    with pytest.raises(PermissionDenied, match="another person"):
        services.decide_request(scopes["acme"], asked.request.request_id, "approve", "my own")
    services.decide_request(alan, asked.request.request_id, "approve", "agreed")
    after = queries.get_model(scopes["acme"], model.model_id, consistent=True)
    assert after.aliases["champion"].version == "1.1.0"
    with pytest.raises(PermissionDenied, match="protected"):
        services.remove_alias(scopes["acme"], model.model_id, "champion")


def test_a_rejection_changes_nothing_but_the_request(register, scopes, protected, alan):
    model = register()
    asked = services.set_alias(scopes["acme"], model.model_id, "champion", "1.0.0", reason="first")
    decided = services.decide_request(alan, asked.request.request_id, "reject", "not yet evaluated")
    assert decided.request.state == "rejected" and decided.request.decision_reason == "not yet evaluated"
    assert not (queries.get_model(scopes["acme"], model.model_id, consistent=True).aliases or {})


def test_another_tenant_cannot_see_or_decide_the_request(register, scopes, protected):
    model = register()
    asked = services.set_alias(scopes["acme"], model.model_id, "champion", "1.0.0", reason="first")
    with pytest.raises(Exception) as exc:
        services.decide_request(scopes["globex"], asked.request.request_id, "approve", "sneaky")
    assert getattr(exc.value, "status", None) == 404


def test_two_approvers_at_once_one_wins_and_the_other_is_told(register, scopes, protected, alan):
    model = register(versions=("1.0.0", "1.1.0"))
    asked = services.set_alias(scopes["acme"], model.model_id, "champion", "1.1.0", reason="new best")
    request_id = asked.request.request_id
    results, errors = race(
        [
            lambda: services.decide_request(alan, request_id, "approve", "yes"),
            lambda: services.decide_request(scopes["staff@acme"], request_id, "approve", "yes too"),
        ]
    )
    assert len(results) == 1 and len(errors) == 1
    assert "already approved by" in errors[0].message
    events = audit_actions("acme", request_id)
    assert events.count("model.change_approved") == 1


def test_an_approval_after_the_version_was_retired_closes_the_request(register, scopes, protected):
    model = register(versions=("1.0.0", "1.1.0"))
    asked = services.change_status(
        scopes["acme"], model.model_id, "1.1.0", "deploying", "production", reason="go"
    )
    services.change_status(scopes["acme"], model.model_id, "1.1.0", "retired")
    with pytest.raises(Conflict, match="retired") as exc:
        services.decide_request(scopes["staff@acme"], asked.request.request_id, "approve", "ok")
    assert "obsolete" in exc.value.message
    assert ChangeRequest.get("acme", asked.request.request_id).state == "obsolete"
    assert RegistryVersion.get(model.model_id, "1.1.0", consistent_read=True).status == "retired"


def test_approval_racing_a_retirement_has_one_winner(register, scopes, protected):
    model = register(versions=("1.0.0", "1.1.0"))
    asked = services.change_status(
        scopes["acme"], model.model_id, "1.1.0", "deploying", "production", reason="go"
    )
    results, errors = race(
        [
            lambda: services.decide_request(scopes["staff@acme"], asked.request.request_id, "approve", "ok"),
            lambda: services.change_status(scopes["acme"], model.model_id, "1.1.0", "retired"),
        ]
    )
    assert len(results) == 1 and len(errors) == 1
    status = RegistryVersion.get(model.model_id, "1.1.0", consistent_read=True).status
    state = ChangeRequest.get("acme", asked.request.request_id, consistent_read=True).state
    assert (status, state) in {("deploying", "approved"), ("retired", "obsolete")}
