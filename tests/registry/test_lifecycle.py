"""The registry's pure rules on their own: in-memory models and versions, no DynamoDB.

Who may make a move, what asks first, what the detail page offers and which deployments count as
stalled; the moves themselves against DynamoDB Local are in test_state_machine.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dashboard.core.errors import PermissionDenied
from dashboard.core.scope import API, STAFF, TENANT_ADMIN, AccessScope
from dashboard.registry import lifecycle
from dashboard.registry.models import EnvironmentState, MlModel, RegistryVersion

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
STAFF_SCOPE = AccessScope(role=STAFF, actor_id="u1", actor_label="staff", tenant_id="acme")
ADMIN = AccessScope(role=TENANT_ADMIN, actor_id="u2", actor_label="admin", tenant_id="acme")
PIPELINE = AccessScope(role=API, actor_id="key_x", actor_label="pipeline", tenant_id="acme")


def model_with(**states: EnvironmentState) -> MlModel:
    model = MlModel(model_id="mdl", project_id="prj", tenant_id="acme", name="m", updated_at=AT)
    model.environments = {env: states.get(env, EnvironmentState()) for env in lifecycle.ENVIRONMENTS}
    return model


def version_in(status: str, environment: str | None = None, stage: str | None = None) -> RegistryVersion:
    version = RegistryVersion(
        model_id="mdl", version="1.0.0", project_id="prj", tenant_id="acme", model_name="m"
    )
    version.status, version.environment, version.stage = status, environment, stage
    return version


# --- what the detail page offers: promotion goes forward only (issue 35, item 6) -------------------


@pytest.mark.parametrize(
    "live, expected",
    [
        ([], None),
        (["dev"], "staging"),
        (["staging"], "production"),
        (["production"], None),
        (["staging", "production"], None),  # kept in staging after its promotion into production
        (["dev", "staging"], "production"),
    ],
)
def test_a_live_version_is_promoted_to_the_next_environment_never_backwards(live, expected):
    assert lifecycle.promotion_target(live) == expected


def _live_version(environment: str):
    model = MlModel(model_id="mdl", project_id="prj", tenant_id="acme", name="m")
    model.environments = {env: EnvironmentState() for env in lifecycle.ENVIRONMENTS}
    model.environments[environment].live = "1.0.0"
    version = RegistryVersion(
        model_id="mdl", version="1.0.0", project_id="prj", tenant_id="acme", model_name="m"
    )
    version.status, version.environment, version.stage = "deployed", environment, environment
    staff = AccessScope(role="staff", actor_id="u1", actor_label="staff", tenant_id="acme")
    admin = AccessScope(role="tenant_admin", actor_id="u2", actor_label="admin", tenant_id="acme")
    return model, version, staff, admin


def test_a_staging_version_offers_production_to_staff_and_says_tenant_admins_need_staff():
    model, version, staff, admin = _live_version("staging")
    for_staff = lifecycle.version_actions(staff, version, model)
    assert for_staff["confirm_deploy_to"] == ["production"] and for_staff["deploy_to"] == []
    assert not for_staff["needs_staff"]
    for_admin = lifecycle.version_actions(admin, version, model)
    assert for_admin["confirm_deploy_to"] == [] and for_admin["deploy_to"] == []
    assert "need staff" in for_admin["needs_staff"]
    assert for_admin["roll_back"] and for_admin["retire"]


def test_a_dev_version_is_promoted_to_staging_and_a_production_one_nowhere():
    model, version, staff, admin = _live_version("dev")
    assert lifecycle.version_actions(admin, version, model)["confirm_deploy_to"] == ["staging"]
    assert lifecycle.version_actions(staff, version, model)["confirm_deploy_to"] == ["staging"]
    model, version, staff, admin = _live_version("production")
    assert lifecycle.version_actions(staff, version, model)["confirm_deploy_to"] == []
    assert "need staff" in lifecycle.version_actions(admin, version, model)["needs_staff"]


# --- who may make a move, and what asks first ------------------------------------------------------


@pytest.mark.parametrize("scope", [ADMIN, PIPELINE])
def test_only_staff_may_touch_production(scope):
    with pytest.raises(PermissionDenied, match="Only Diatonic staff"):
        lifecycle.check_environments(scope, {"staging", "production"}, "deploying")
    lifecycle.check_environments(STAFF_SCOPE, {"production"}, "deploying")
    lifecycle.check_environments(scope, {"dev", "staging"}, "retired")


def test_a_pipeline_may_report_how_a_production_deployment_ended():
    for outcome in ("deployed", "failed"):
        lifecycle.check_environments(PIPELINE, {"production"}, outcome)
    with pytest.raises(PermissionDenied):
        lifecycle.check_environments(ADMIN, {"production"}, "deployed")


def test_people_changing_production_give_a_reason_and_pipelines_do_not():
    assert lifecycle.needs_reason(STAFF_SCOPE, {"production"})
    assert lifecycle.needs_reason(ADMIN, {"staging", "production"})
    assert not lifecycle.needs_reason(PIPELINE, {"production"})
    assert not lifecycle.needs_reason(STAFF_SCOPE, {"dev", "staging"})


@pytest.mark.parametrize(
    "status, to, touched, asks",
    [
        ("registered", "deploying", {"dev"}, False),
        ("registered", "deploying", {"production"}, True),
        ("deployed", "deploying", {"dev", "staging"}, True),  # a promotion
        ("deployed", "rolled_back", {"dev"}, True),
        ("registered", "retired", set(), True),
        ("deploying", "deployed", {"staging"}, False),
        ("deploying", "failed", {"production"}, True),
    ],
)
def test_promotions_roll_backs_retirements_and_production_ask_first(status, to, touched, asks):
    assert lifecycle.needs_confirmation(version_in(status), to, touched) is asks


# --- which environments the scope may deploy to ---------------------------------------------------


def test_staff_may_deploy_everywhere_and_others_not_to_production():
    assert lifecycle.deploy_options(STAFF_SCOPE) == ("dev", "staging", "production")
    assert lifecycle.deploy_options(ADMIN) == ("dev", "staging")
    assert lifecycle.deploy_options(PIPELINE) == ("dev", "staging")


def test_a_registered_version_is_offered_one_click_deploys_and_production_asks_first():
    actions = lifecycle.version_actions(STAFF_SCOPE, version_in("registered"), model_with())
    assert actions["deploy_to"] == ["dev", "staging"] and actions["confirm_deploy_to"] == ["production"]
    assert not actions["promote"] and actions["retire"] and not actions["roll_back"]
    actions = lifecycle.version_actions(ADMIN, version_in("registered"), model_with())
    assert actions["deploy_to"] == ["dev", "staging"] and actions["confirm_deploy_to"] == []


def test_a_retired_version_is_offered_nothing():
    actions = lifecycle.version_actions(STAFF_SCOPE, version_in("retired"), model_with())
    assert actions["deploy_to"] == actions["confirm_deploy_to"] == []
    assert not (actions["finish"] or actions["roll_back"] or actions["retire"])


def test_only_staff_finish_a_production_deployment_and_it_asks_first():
    deploying = version_in("deploying", stage="production")
    model = model_with(production=EnvironmentState(pending="1.0.0"))
    for_staff = lifecycle.version_actions(STAFF_SCOPE, deploying, model)
    assert for_staff["finish"] and for_staff["finish_asks"]
    for_admin = lifecycle.version_actions(ADMIN, deploying, model)
    assert not for_admin["finish"] and "need staff" in for_admin["needs_staff"]


# --- stalled deployments and polling ---------------------------------------------------------------


def test_a_deployment_pending_longer_than_the_setting_is_stalled(settings):
    settings.REGISTRY_STALLED_AFTER_MINUTES = 30
    model = model_with(
        dev=EnvironmentState(pending="1.0.0", pending_since=(AT - timedelta(minutes=31)).isoformat()),
        staging=EnvironmentState(pending="1.1.0", pending_since=(AT - timedelta(minutes=29)).isoformat()),
        production=EnvironmentState(live="0.9.0"),
    )
    assert lifecycle.stalled_environments(model, AT) == {"dev"}


def test_a_deployment_without_its_start_counts_from_the_models_last_change(settings):
    settings.REGISTRY_STALLED_AFTER_MINUTES = 30
    model = model_with(staging=EnvironmentState(pending="1.0.0"))
    assert lifecycle.stalled_environments(model, AT + timedelta(minutes=29)) == set()
    assert lifecycle.stalled_environments(model, AT + timedelta(minutes=31)) == {"staging"}


def test_stalled_deployments_are_flagged_in_memory_and_stop_the_polling(settings, monkeypatch):
    settings.REGISTRY_STALLED_AFTER_MINUTES = 30
    model = model_with(dev=EnvironmentState(pending="1.0.0", pending_since=AT.isoformat()))
    model.status = lifecycle.DEPLOYING
    monkeypatch.setattr(lifecycle.clock, "now", lambda: AT + timedelta(minutes=5))
    lifecycle.mark_stalled([model])
    assert not model.environments["dev"].stalled
    assert lifecycle.any_in_progress([model])
    monkeypatch.setattr(lifecycle.clock, "now", lambda: AT + timedelta(minutes=31))
    lifecycle.mark_stalled([model])
    assert model.environments["dev"].stalled
    assert not lifecycle.any_in_progress([model])
