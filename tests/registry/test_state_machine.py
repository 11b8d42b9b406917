"""Every move of a version's state machine, through the service against DynamoDB Local."""

import pytest

from dashboard.audit.models import AuditEvent
from dashboard.core.errors import Conflict, ValidationFailed
from dashboard.registry import lifecycle, queries, services
from dashboard.registry.lifecycle import MOVES, STATUSES
from dashboard.registry.models import RegistryVersion


def move(scope, model, version, to, environment=None):
    # Production changes by people need a reason; these tests are about the moves themselves.
    return services.change_status(
        scope, model.model_id, version, to, environment, reason="state machine test"
    )


@pytest.fixture
def version_in(register, scopes):
    """`version_in(status)` → (model, version id) with that version in that status (in dev)."""
    staff = scopes["staff@acme"]

    def make(status):
        model = register(versions=("1.0.0", "1.1.0"))
        if status == "registered":
            return model, "1.0.0"
        move(staff, model, "1.0.0", "deploying", "dev")
        if status == "deploying":
            return model, "1.0.0"
        if status == "failed":
            move(staff, model, "1.0.0", "failed")
            return model, "1.0.0"
        move(staff, model, "1.0.0", "deployed")
        if status == "deployed":
            return model, "1.0.0"
        if status == "rolled_back":
            move(staff, model, "1.0.0", "rolled_back")
            return model, "1.0.0"
        if status == "superseded":
            move(staff, model, "1.1.0", "deploying", "dev")
            move(staff, model, "1.1.0", "deployed")
            return model, "1.0.0"
        if status == "retired":
            move(staff, model, "1.0.0", "retired")
            return model, "1.0.0"
        raise AssertionError(status)

    return make


ILLEGAL = [(start, to) for start in STATUSES for to in STATUSES if to not in MOVES[start]]
LEGAL = [(start, to) for start in STATUSES for to in MOVES[start]]


@pytest.mark.parametrize(("start", "to"), ILLEGAL)
def test_every_illegal_move_is_refused_and_changes_nothing(version_in, scopes, start, to):
    model, version = version_in(start)
    before = RegistryVersion.get(model.model_id, version, consistent_read=True)
    with pytest.raises((Conflict, ValidationFailed)) as refused:
        move(scopes["staff@acme"], model, version, to, "staging")
    assert "cannot" in refused.value.message
    after = RegistryVersion.get(model.model_id, version, consistent_read=True)
    assert (
        (after.status, after.row_version)
        == (before.status, before.row_version)
        == (start, before.row_version)
    )


@pytest.mark.parametrize(("start", "to"), LEGAL)
def test_every_legal_move_lands(version_in, scopes, start, to):
    model, version = version_in(start)
    move(scopes["staff@acme"], model, version, to, "staging" if to == "deploying" else None)
    assert RegistryVersion.get(model.model_id, version, consistent_read=True).status == to


def test_deploying_again_to_where_a_version_is_live_is_refused(version_in, scopes):
    model, version = version_in("deployed")
    with pytest.raises(Conflict, match="already live in dev"):
        move(scopes["staff@acme"], model, version, "deploying", "dev")


def test_an_unknown_status_or_environment_is_a_validation_error(version_in, scopes):
    model, version = version_in("registered")
    with pytest.raises(ValidationFailed, match="not a status"):
        move(scopes["staff@acme"], model, version, "launched")
    with pytest.raises(ValidationFailed, match="environment"):
        move(scopes["staff@acme"], model, version, "deploying", "moon")


def test_going_live_supersedes_the_previous_version_in_the_same_write(register, scopes):
    staff = scopes["staff@acme"]
    model = register(versions=("1.0.0", "1.1.0"))
    for version in ("1.0.0", "1.1.0"):
        move(staff, model, version, "deploying", "staging")
        move(staff, model, version, "deployed")
    old = RegistryVersion.get(model.model_id, "1.0.0", consistent_read=True)
    new = RegistryVersion.get(model.model_id, "1.1.0", consistent_read=True)
    assert (old.status, old.environment) == ("superseded", None)
    assert (new.status, new.environment) == ("deployed", "staging")
    summary = queries.get_model(staff, model.model_id, consistent=True)
    assert summary.environments["staging"].live == "1.1.0"
    assert new.deployments[-1].previous == "1.0.0"


def test_a_rollback_brings_back_the_version_it_replaced(register, scopes):
    staff = scopes["staff@acme"]
    model = register(versions=("1.0.0", "1.1.0"))
    for version in ("1.0.0", "1.1.0"):
        move(staff, model, version, "deploying", "production")
        move(staff, model, version, "deployed")
    change = move(staff, model, "1.1.0", "rolled_back", "production")
    assert "1.0.0 is live again" in change.message
    assert RegistryVersion.get(model.model_id, "1.0.0", consistent_read=True).environment == "production"
    assert RegistryVersion.get(model.model_id, "1.1.0", consistent_read=True).status == "rolled_back"
    assert (
        queries.get_model(staff, model.model_id, consistent=True).environments["production"].live == "1.0.0"
    )


def test_promoting_moves_a_version_from_one_environment_to_the_next(version_in, scopes):
    model, version = version_in("deployed")
    staff = scopes["staff@acme"]
    move(staff, model, version, "deploying", "staging")
    move(staff, model, version, "deployed")
    summary = queries.get_model(staff, model.model_id, consistent=True)
    assert summary.environments["dev"].live is None
    assert summary.environments["staging"].live == version


def test_tenant_admins_may_not_touch_production(version_in, register, scopes):
    model, version = version_in("registered")
    with pytest.raises(Exception, match="Only Diatonic staff may change production"):
        move(scopes["acme"], model, version, "deploying", "production")
    move(scopes["acme"], model, version, "deploying", "staging")
    move(scopes["acme"], model, version, "deployed")
    with pytest.raises(Exception, match="Only Diatonic staff"):
        move(scopes["acme"], model, version, "deploying", "production")  # a promotion into production


def test_every_change_is_in_the_audit_trail(version_in, scopes):
    model, version = version_in("registered")
    move(scopes["acme"], model, version, "deploying", "dev")
    events = [
        e
        for e in AuditEvent.query("acme", scan_index_forward=False, limit=20)
        if e.target_id == f"{model.model_id}@{version}"
    ]
    assert events and events[0].action == "model_version.deploying"
    assert events[0].changes["environment"] == "dev"


def test_the_models_headline_status_follows_its_environments(version_in, scopes):
    model, version = version_in("deploying")
    assert queries.get_model(scopes["acme"], model.model_id, consistent=True).status == "deploying"
    move(scopes["acme"], model, version, "failed")
    assert queries.get_model(scopes["acme"], model.model_id, consistent=True).status == "failed"


def test_requestable_moves_are_the_issues_state_machine():
    assert MOVES[lifecycle.REGISTERED] == ("deploying", "retired")
    assert set(MOVES[lifecycle.DEPLOYING]) == {"deployed", "failed"}
    assert {"rolled_back", "retired"} <= set(MOVES[lifecycle.DEPLOYED])


def test_promoting_into_production_keeps_staging_live_unless_asked(version_in, scopes):
    staff = scopes["staff@acme"]
    model, version = version_in("deployed")  # live in dev
    move(staff, model, version, "deploying", "staging")
    move(staff, model, version, "deployed")
    move(staff, model, version, "deploying", "production")
    move(staff, model, version, "deployed")
    envs = queries.get_model(staff, model.model_id, consistent=True).environments
    assert (envs["staging"].live, envs["production"].live) == (version, version)
    # A new version in staging replaces it there only: production keeps serving it.
    move(staff, model, "1.1.0", "deploying", "staging")
    move(staff, model, "1.1.0", "deployed")
    envs = queries.get_model(staff, model.model_id, consistent=True).environments
    assert (envs["staging"].live, envs["production"].live) == ("1.1.0", version)
    stored = RegistryVersion.get(model.model_id, version, consistent_read=True)
    assert (stored.status, stored.environment) == ("deployed", "production")
    # Asked to, the promotion takes it out of staging.
    services.change_status(
        staff, model.model_id, "1.1.0", "deploying", "production", reason="ship it", vacate=True
    )
    move(staff, model, "1.1.0", "deployed")
    envs = queries.get_model(staff, model.model_id, consistent=True).environments
    assert (envs["staging"].live, envs["production"].live) == (None, "1.1.0")
    assert RegistryVersion.get(model.model_id, version, consistent_read=True).status == "superseded"


def test_retiring_a_version_live_in_two_environments_clears_both(version_in, scopes):
    staff = scopes["staff@acme"]
    model, version = version_in("deployed")
    move(staff, model, version, "deploying", "staging")
    move(staff, model, version, "deployed")
    move(staff, model, version, "deploying", "production")
    move(staff, model, version, "failed")
    stored = RegistryVersion.get(model.model_id, version, consistent_read=True)
    assert (stored.status, stored.environment) == ("deployed", "staging")  # a failed promotion keeps it
    move(staff, model, version, "deploying", "production")
    move(staff, model, version, "deployed")
    with pytest.raises(Exception, match="Only Diatonic staff"):
        move(scopes["acme"], model, version, "retired")
    move(staff, model, version, "retired")
    envs = queries.get_model(staff, model.model_id, consistent=True).environments
    assert envs["staging"].live is None and envs["production"].live is None
