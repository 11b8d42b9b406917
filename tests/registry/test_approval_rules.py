"""The four-eyes rules as pure functions: no DynamoDB call is made here."""

from datetime import UTC, datetime, timedelta

import pytest

from dashboard.core.errors import Conflict, PermissionDenied, ValidationFailed
from dashboard.core.scope import AccessScope
from dashboard.registry import approvals
from dashboard.registry.models import ChangeRequest, RegistryPolicy

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
ADA = AccessScope("tenant_admin", "usr_ada", "ada@acme.test", "acme")
ALAN = AccessScope("tenant_admin", "usr_alan", "alan@acme.test", "acme")
KEY = AccessScope("api", "key_1", "API key deploys", "acme")
STAFF = AccessScope("staff", "usr_staff", "staff@diatonic.test", "acme")


def policy(**fields) -> RegistryPolicy:
    return RegistryPolicy(
        tenant_id="acme",
        protected_environments=fields.get("environments", ["production"]),
        protected_aliases=fields.get("aliases", ["champion"]),
        requesters=fields.get("requesters"),
        expiry_hours=fields.get("hours", 72),
    )


def request(**fields) -> ChangeRequest:
    values = {
        "tenant_id": "acme",
        "request_id": "chg_1",
        "model_id": "mdl_1",
        "model_name": "churn",
        "kind": "status",
        "version": "1.3.0",
        "to": "deploying",
        "environment": "production",
        "targets": ["environment:production"],
        "reason": "better recall",
        "state": "open",
        "requested_by": ADA.actor_label,
        "requested_by_id": ADA.actor_id,
        "requested_role": ADA.role,
        "requested_at": NOW,
        "expires_at": NOW + timedelta(hours=72),
    }
    values.update(fields)
    return ChangeRequest(**values)


def test_a_deploy_into_a_protected_environment_is_held():
    assert approvals.held_targets(policy(), to="deploying", touched={"production"}) == [
        "environment:production"
    ]


def test_rolling_back_or_retiring_out_of_a_protected_environment_is_held_too():
    assert approvals.held_targets(policy(), to="rolled_back", touched={"production"})
    assert approvals.held_targets(policy(), to="retired", touched={"production"})


def test_unprotected_environments_and_reported_outcomes_are_never_held():
    assert approvals.held_targets(policy(), to="deploying", touched={"staging"}) == []
    assert approvals.held_targets(policy(), to="deployed", touched={"production"}) == []
    assert approvals.held_targets(policy(), to="failed", touched={"production"}) == []
    assert approvals.held_targets(None, to="deploying", touched={"production"}) == []


def test_a_protected_alias_is_held_and_others_are_not():
    assert approvals.held_targets(policy(), alias="champion") == ["alias:champion"]
    assert approvals.held_targets(policy(), alias="challenger") == []


def test_only_the_roles_the_policy_names_may_ask():
    approvals.check_may_request(policy(requesters=["tenant_admin"]), ADA, ["environment:production"])
    approvals.check_may_request(policy(requesters=[]), STAFF, ["environment:production"])
    with pytest.raises(PermissionDenied, match="only staff and tenant admins may ask"):
        approvals.check_may_request(policy(requesters=["tenant_admin"]), KEY, ["environment:production"])
    with pytest.raises(PermissionDenied, match="only staff may ask"):
        approvals.check_may_request(policy(requesters=[]), ADA, ["alias:champion"])


def test_the_requester_may_not_decide_their_own_request():
    with pytest.raises(PermissionDenied, match="another person"):
        approvals.check_decision(request(), ADA, "approve", "looks good", NOW)


def test_another_person_decides_with_a_reason():
    assert approvals.check_decision(request(), ALAN, "approve", "  looks   good ", NOW) == "looks good"
    with pytest.raises(ValidationFailed) as exc:
        approvals.check_decision(request(), ALAN, "reject", "   ", NOW)
    assert "reason" in exc.value.fields
    with pytest.raises(ValidationFailed):
        approvals.check_decision(request(), ALAN, "maybe", "why not", NOW)


def test_a_request_expires_and_then_cannot_be_decided():
    item = request(expires_at=NOW + timedelta(hours=1))
    assert approvals.state_of(item, NOW) == "open"
    later = NOW + timedelta(hours=1)
    assert approvals.state_of(item, later) == "expired"
    with pytest.raises(Conflict, match="expired"):
        approvals.check_decision(item, ALAN, "approve", "ok", later)


def test_expiry_follows_the_policy():
    assert approvals.expiry(policy(hours=4), NOW) == NOW + timedelta(hours=4)
    assert approvals.expiry(None, NOW) == NOW + timedelta(hours=approvals.DEFAULT_EXPIRY_HOURS)


def test_a_decided_request_says_who_decided_it_first():
    item = request()
    approvals.decide(item, ALAN, approvals.APPROVED, "ok", NOW)
    assert item.open_tenant is None and item.state == "approved"
    with pytest.raises(Conflict, match="already approved by alan@acme.test"):
        approvals.check_decision(item, STAFF, "reject", "no", NOW)
    with pytest.raises(Conflict):
        approvals.decide(item, STAFF, approvals.REJECTED, "no", NOW)


def test_an_obsolete_request_says_why_it_closed():
    item = request()
    approvals.decide(item, ALAN, approvals.OBSOLETE, "ok", NOW, outcome="Version 1.3.0 is retired.")
    with pytest.raises(Conflict, match="1.3.0 is retired"):
        approvals.check_decision(item, STAFF, "approve", "ok", NOW)


def test_requests_read_as_a_sentence():
    assert approvals.describe(request()) == "deploy churn 1.3.0 to production"
    assert approvals.describe(request(kind="alias", alias="champion")) == "point champion of churn at 1.3.0"


def test_an_expired_request_is_not_open_any_more():
    fresh, stale = request(request_id="chg_1"), request(request_id="chg_2", expires_at=NOW)
    decided = request(request_id="chg_3")
    approvals.decide(decided, ALAN, approvals.REJECTED, "no", NOW)
    assert approvals.is_expired(stale, NOW) and not approvals.is_expired(fresh, NOW)
    assert not approvals.is_expired(decided, NOW + timedelta(days=30))  # decided ones never expire
    assert [r.request_id for r in approvals.still_open([fresh, stale, decided], NOW)] == ["chg_1"]


def test_expiring_closes_the_request_and_takes_it_out_of_the_open_index():
    item = request(expires_at=NOW + timedelta(hours=1), open_tenant="acme")
    with pytest.raises(Conflict, match="still open"):
        approvals.expire(item, NOW)
    approvals.expire(item, NOW + timedelta(hours=2))
    assert item.state == "expired" and item.open_tenant is None
    assert item.decided_by is None and item.decided_at == NOW + timedelta(hours=1)
    assert "without a decision" in item.outcome
    with pytest.raises(Conflict, match="closed as expired"):
        approvals.expire(item, NOW + timedelta(hours=3))
    with pytest.raises(Conflict, match="expired at 2026-12-07 13:00 UTC"):
        approvals.check_decision(item, ALAN, "approve", "ok", NOW + timedelta(hours=3))
