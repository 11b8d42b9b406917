"""The state machine of a model version, as pure functions over in-memory items.

A version sits in at most one environment at a time (as a stage in MLflow): it is registered, goes
`deploying` to an environment, ends `deployed` (live) or `failed`; a live version can be promoted
(deployed to another environment, leaving the first), rolled back, or retired. When a version goes
live, the one live before it in that environment becomes `superseded` in the same write; a rollback
brings that previous version back if it is still available.

The model item's `environments` map is the pointer "which version is live / deploying in each
environment"; services write it together with the versions it names, under its `row_version`
condition, so two concurrent changes cannot both land.

Beside the moves: who may make one (production is staff's), which ask for a reason or a confirmation
first, and what the pages offer and flag (version actions, stalled deployments). No I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from dashboard.core import clock
from dashboard.core.errors import Conflict, PermissionDenied, ValidationFailed
from dashboard.core.scope import AccessScope
from dashboard.registry import version_numbers
from dashboard.registry.models import (
    ENVIRONMENTS,
    DeploymentEntry,
    EnvironmentState,
    MlModel,
    RegistryVersion,
)

REGISTERED = "registered"
DEPLOYING = "deploying"
DEPLOYED = "deployed"
FAILED = "failed"
ROLLED_BACK = "rolled_back"
SUPERSEDED = "superseded"
RETIRED = "retired"
STATUSES = (REGISTERED, DEPLOYING, DEPLOYED, FAILED, ROLLED_BACK, SUPERSEDED, RETIRED)

PRODUCTION = "production"

# What may be asked for from each status. `registered` is where a version starts and `superseded`
# is what a newer live version does to an older one: neither is ever asked for directly.
MOVES: dict[str, tuple[str, ...]] = {
    REGISTERED: (DEPLOYING, RETIRED),
    DEPLOYING: (DEPLOYED, FAILED),
    DEPLOYED: (DEPLOYING, ROLLED_BACK, RETIRED),
    FAILED: (DEPLOYING, RETIRED),
    ROLLED_BACK: (DEPLOYING, RETIRED),
    SUPERSEDED: (DEPLOYING, RETIRED),
    RETIRED: (),
}
REQUESTABLE = (DEPLOYING, DEPLOYED, FAILED, ROLLED_BACK, RETIRED)


class IllegalMove(Conflict):
    code = "illegal_transition"


@dataclass
class Change:
    """What a move did: the items to write together and what the audit trail records."""

    items: list[Any]
    action: str
    changes: dict[str, Any] = field(default_factory=dict)
    message: str = ""


def label(status: str) -> str:
    return status.replace("_", " ")


def empty_environments() -> dict[str, EnvironmentState]:
    return {env: EnvironmentState() for env in ENVIRONMENTS}


def environments_of(model: MlModel) -> dict[str, EnvironmentState]:
    """The model's environment map, completed in place (callers hold on to it while they change it)."""
    if model.environments is None:
        model.environments = {}
    envs = model.environments
    for env in ENVIRONMENTS:
        if envs.get(env) is None:
            envs[env] = EnvironmentState()
    return envs


def headline_status(model: MlModel) -> str:
    """One status for the model: what needs attention first, else what its latest version is."""
    envs = environments_of(model)
    if any(state.pending for state in envs.values()):
        return DEPLOYING
    if any(state.failed for state in envs.values()):
        return FAILED
    if any(state.live for state in envs.values()):
        return DEPLOYED
    return model.latest_status or REGISTERED


def refresh_summary(model: MlModel, at: datetime) -> None:
    model.status = headline_status(model)
    model.tenant_status = f"{model.tenant_id}#{model.status}"
    model.project_status = f"{model.project_id}#{model.status}"
    model.updated_at = at


def _touch(model: MlModel, version: RegistryVersion, at: datetime) -> None:
    version.updated_at = at
    if version.version == model.latest_version:
        model.latest_status = version.status


def check_move(
    version: RegistryVersion, to: str, environment: str | None, model: MlModel | None = None
) -> None:
    """Refuse every move the state machine does not allow, saying why and what is possible."""
    live_elsewhere = model is not None and environment in live_in(model, version)
    if to not in STATUSES:
        raise ValidationFailed(
            f"“{to}” is not a status. Ask for one of: {', '.join(REQUESTABLE)}.",
            {"status": f"Use one of: {', '.join(REQUESTABLE)}."},
        )
    if to not in REQUESTABLE:
        why = (
            "every version starts registered"
            if to == REGISTERED
            else "a version becomes superseded when another one goes live in its environment"
        )
        raise IllegalMove(f"A version cannot be moved to {label(to)} on request: {why}.", {"status": why})
    allowed = MOVES[version.status]
    if to not in allowed:
        options = ", ".join(label(s) for s in allowed) if allowed else "nothing: it is final"
        raise IllegalMove(
            f"Version {version.version} is {label(version.status)}; it cannot move to {label(to)}. "
            f"From {label(version.status)} it can go to {options}.",
            {"status": f"Not allowed from {label(version.status)}."},
        )
    if to == DEPLOYING:
        if environment not in ENVIRONMENTS:
            raise ValidationFailed(
                "Choose the environment to deploy to: dev, staging or production.",
                {"environment": "Choose dev, staging or production."},
            )
        if version.status == DEPLOYED and version.environment == environment:
            raise IllegalMove(f"Version {version.version} is already live in {environment}.")
    elif to in (DEPLOYED, FAILED):
        if environment and environment != version.stage:
            raise IllegalMove(
                f"Version {version.version} is being deployed to {version.stage}, not to {environment}."
            )
    elif to == ROLLED_BACK and environment and environment != version.environment and not live_elsewhere:
        raise IllegalMove(
            f"Version {version.version} is live in {version.environment}, not in {environment}."
        )


MAX_HISTORY = 200  # per version: keeps an item far below DynamoDB's 400 KB limit


def _history(version: RegistryVersion) -> list[DeploymentEntry]:
    version.deployments = list(version.deployments or [])
    return version.deployments


def _append(version: RegistryVersion, entry: DeploymentEntry) -> None:
    history = _history(version)
    history.append(entry)
    del history[:-MAX_HISTORY]


def _open_entry(version: RegistryVersion, environment: str, outcome: str) -> DeploymentEntry | None:
    for entry in reversed(_history(version)):
        if entry.environment == environment and entry.outcome == outcome:
            return entry
    return None


def live_in(model: MlModel, version: RegistryVersion) -> list[str]:
    """The environments the model's map says this version is live in (several after a promotion into
    production that kept it in staging), in ENVIRONMENTS order."""
    envs = environments_of(model)
    return [env for env in ENVIRONMENTS if envs[env].live == version.version]


def _leave_environment(
    model: MlModel,
    version: RegistryVersion,
    at: datetime,
    by: str,
    env: str | None = None,
    *,
    moved_to: str | None = None,
    replaced_by: str | None = None,
) -> None:
    """The version stops being live in `env` (default: where it is; promotion elsewhere, retirement,
    supersession). Still live somewhere else, it keeps that environment as its own."""
    env = env or version.environment
    if not env:
        return
    state = environments_of(model)[env]
    if state.live == version.version:
        state.live = state.since = state.by = None
    entry = _open_entry(version, env, DEPLOYED)
    if entry is not None and not entry.ended_at:
        entry.ended_at, entry.ended_by = at.isoformat(), by
        if moved_to:
            entry.moved_to = moved_to
        if replaced_by:
            entry.replaced_by = replaced_by
    remaining = live_in(model, version)
    if remaining:
        if version.environment not in remaining:
            version.environment = remaining[-1]
        return
    version.environment = None
    version.deployed_at = None


def add_version(model: MlModel, version: RegistryVersion, at: datetime) -> None:
    model.version_count = int(model.version_count or 0) + 1
    model.version_scheme = model.version_scheme or version_numbers.scheme_of(version.version)
    if version_numbers.is_newer(version.version, model.latest_version):
        model.latest_version = version.version
        model.latest_status = version.status
    environments_of(model)
    refresh_summary(model, at)


def promotion_target(live: list[str] | set[str]) -> str | None:
    """Where a live version is promoted next: the environment after the furthest one it is live in
    (dev → staging → production, never backwards); None once it is live in production."""
    furthest = max((ENVIRONMENTS.index(env) for env in live if env in ENVIRONMENTS), default=None)
    if furthest is None or furthest + 1 >= len(ENVIRONMENTS):
        return None
    return ENVIRONMENTS[furthest + 1]


def keeps_source(version: RegistryVersion, environment: str, vacate: bool) -> bool:
    """A promotion into production leaves the version live where it was (staging keeps serving what
    production now runs) unless the person asks to take it out; other promotions move it."""
    return version.status == DEPLOYED and environment == PRODUCTION and not vacate


def begin_deployment(
    model: MlModel,
    version: RegistryVersion,
    environment: str,
    *,
    by: str,
    at: datetime,
    reason: str = "",
    vacate: bool = False,
) -> Change:
    check_move(version, DEPLOYING, environment)
    state = environments_of(model)[environment]
    if state.live == version.version:
        raise IllegalMove(f"Version {version.version} is already live in {environment}.")
    pending = state.pending
    if pending:
        raise Conflict(
            f"Version {pending} is already being deployed to {environment}; "
            "wait until it finishes (deployed or failed) before deploying another."
        )
    previous_status = version.status
    promoted_from = version.environment if version.status == DEPLOYED else None
    kept = keeps_source(version, environment, vacate)
    if not kept:
        _leave_environment(model, version, at, by, moved_to=environment)
    state.pending, state.pending_since, state.failed = version.version, at.isoformat(), None
    version.status = DEPLOYING
    version.stage = environment
    _append(
        version,
        DeploymentEntry(
            environment=environment,
            previous=state.live,
            by=by,
            at=at.isoformat(),
            outcome=DEPLOYING,
            kind="promote" if promoted_from else "deploy",
            promoted_from=promoted_from,
            reason=reason or None,
        ),
    )
    _touch(model, version, at)
    refresh_summary(model, at)
    changes = {"status": f"{previous_status} → {DEPLOYING}", "environment": environment}
    if state.live:
        changes["replaces"] = state.live
    if promoted_from:
        changes["kept_in" if kept else "taken_out_of"] = promoted_from
    return Change(
        [model, version],
        "model_version.deploying",
        changes,
        f"Deploying {model.name} {version.version} to {environment}.",
    )


def finish_deployment(
    model: MlModel,
    version: RegistryVersion,
    outcome: str,
    *,
    previous: RegistryVersion | None,
    by: str,
    at: datetime,
    reason: str = "",
) -> Change:
    """`outcome` deployed: the version goes live and `previous` (live there until now) is superseded."""
    check_move(version, outcome, None)
    environment = version.stage
    state = environments_of(model)[environment]
    if state.pending != version.version:
        raise Conflict(f"The deployment of {version.version} to {environment} is not in progress any more.")
    entry = _open_entry(version, environment, DEPLOYING)
    items: list[Any] = [model, version]
    changes: dict[str, Any] = {"status": f"{DEPLOYING} → {outcome}", "environment": environment}
    if outcome == DEPLOYED:
        live = state.live
        if live and live != version.version:
            if previous is None or previous.version != live:
                raise Conflict(f"The version live in {environment} changed meanwhile; reload and try again.")
            _leave_environment(model, previous, at, by, environment, replaced_by=version.version)
            if previous.status == DEPLOYED and not live_in(model, previous):
                previous.status = SUPERSEDED  # live nowhere else any more (nor on its way elsewhere)
                previous.stage = environment
            _touch(model, previous, at)
            items.append(previous)
            changes["superseded"] = previous.version
        state.live, state.since, state.by = version.version, at.isoformat(), by
        state.pending = state.pending_since = state.failed = None
        version.status = DEPLOYED
        version.environment = environment
        version.deployed_at = at
        message = f"{model.name} {version.version} is live in {environment}."
    else:
        state.pending = state.pending_since = None
        state.failed = version.version
        still = live_in(model, version)
        # A promotion that failed leaves the version serving where it was kept: it stays deployed there.
        version.status = DEPLOYED if still else FAILED
        message = f"The deployment of {model.name} {version.version} to {environment} failed."
        if still:
            message += f" It stays live in {', '.join(still)}."
    if entry is not None:
        entry.outcome, entry.finished_at, entry.finished_by = outcome, at.isoformat(), by
        if reason:
            entry.finish_reason = reason
    _touch(model, version, at)
    refresh_summary(model, at)
    return Change(items, f"model_version.{outcome}", changes, message)


def roll_back(
    model: MlModel,
    live: RegistryVersion,
    *,
    restore: RegistryVersion | None,
    by: str,
    at: datetime,
    reason: str = "",
    environment: str | None = None,
) -> Change:
    """Take `live` out of an environment (default: its own) and bring back `restore` (the version it
    replaced there) if it can be."""
    environment = environment or live.environment
    check_move(live, ROLLED_BACK, environment, model)
    state = environments_of(model)[environment]
    if state.pending:
        raise Conflict(
            f"Version {state.pending} is being deployed to {environment}; "
            "wait until it finishes before rolling back."
        )
    entry = _open_entry(live, environment, DEPLOYED)
    _leave_environment(model, live, at, by, environment)
    if entry is not None:
        entry.outcome = ROLLED_BACK
        if reason:
            entry.rollback_reason = reason
    if not live_in(model, live):
        live.status = ROLLED_BACK
        live.stage = environment
    _touch(model, live, at)
    items: list[Any] = [model, live]
    changes: dict[str, Any] = {"status": f"{DEPLOYED} → {ROLLED_BACK}", "environment": environment}
    if restore is not None and restore.status == SUPERSEDED and restore.version != live.version:
        restore.status = DEPLOYED
        restore.environment = environment
        restore.stage = environment
        restore.deployed_at = at
        _append(
            restore,
            DeploymentEntry(
                environment=environment,
                previous=live.version,
                by=by,
                at=at.isoformat(),
                outcome=DEPLOYED,
                kind="rollback",
                finished_at=at.isoformat(),
                finished_by=by,
                reason=reason or None,
            ),
        )
        state.live, state.since, state.by, state.failed = restore.version, at.isoformat(), by, None
        _touch(model, restore, at)
        items.append(restore)
        changes["restored"] = restore.version
        message = f"Rolled back {environment}: {restore.version} is live again instead of {live.version}."
    else:
        message = f"Rolled back {live.version} in {environment}; no earlier version was available to restore."
    refresh_summary(model, at)
    return Change(items, "model_version.rolled_back", changes, message)


def retire(model: MlModel, version: RegistryVersion, *, by: str, at: datetime, reason: str = "") -> Change:
    check_move(version, RETIRED, None)
    previous_status = version.status
    environment = version.environment
    for env in live_in(model, version) or [environment]:
        _leave_environment(model, version, at, by, env)
    envs = environments_of(model)
    for state in envs.values():
        if state.failed == version.version:
            state.failed = None
    version.status = RETIRED
    version.stage = None
    _append(
        version,
        DeploymentEntry(
            environment=environment,
            by=by,
            at=at.isoformat(),
            outcome=RETIRED,
            kind="retire",
            reason=reason or None,
        ),
    )
    _touch(model, version, at)
    refresh_summary(model, at)
    changes = {"status": f"{previous_status} → {RETIRED}"}
    if environment:
        changes["environment"] = environment
    where = f" and taken out of {environment}" if environment else ""
    return Change(
        [model, version],
        "model_version.retired",
        changes,
        f"{model.name} {version.version} is retired{where}.",
    )


def environments_touched(
    version: RegistryVersion, to: str, environment: str | None, model: MlModel | None = None
) -> set[str]:
    """Every environment a move changes, so permission checks see promotions out of production too
    (and retirements that clear an environment's failed marker)."""
    touched = set()
    if to == RETIRED and model is not None:
        touched.update(
            env for env, state in environments_of(model).items() if state.failed == version.version
        )
    if to == DEPLOYING and environment:
        touched.add(environment)
    if to in (DEPLOYED, FAILED) and version.stage:
        touched.add(version.stage)
    if to in (DEPLOYING, ROLLED_BACK, RETIRED) and version.environment:
        touched.add(version.environment)
    if to == RETIRED and model is not None:
        touched.update(live_in(model, version))  # retiring takes it out of every environment
    if to == ROLLED_BACK and environment:
        touched.add(environment)
    return touched


# --- who may make a move, and what it asks for first -----------------------------------------------


def needs_reason(scope: AccessScope, touched: set[str]) -> bool:
    """People changing production say why; a pipeline (API key) reporting an outcome does not."""
    return PRODUCTION in touched and not scope.is_api


def check_environments(scope: AccessScope, touched: set[str], to: str) -> None:
    """Staff may change any environment; tenant admins and API keys only dev and staging.

    A pipeline (API key) may still report how a production deployment that staff started ended.
    """
    if scope.is_staff or PRODUCTION not in touched:
        return
    if scope.is_api and to in (DEPLOYED, FAILED):
        return
    raise PermissionDenied(
        "Only Diatonic staff may change production; tenant admins deploy to dev and staging. "
        "Ask staff to deploy, roll back or retire in production."
    )


def needs_confirmation(version: RegistryVersion, to: str, touched: set[str]) -> bool:
    """Promote, roll back, retire, and anything that touches production ask first on the pages."""
    promote = to == DEPLOYING and version.status == DEPLOYED
    return promote or to in (ROLLED_BACK, RETIRED) or PRODUCTION in touched


# --- what the pages offer and flag (display hints; the services check each request) --------------


def stalled_after() -> timedelta:
    return timedelta(minutes=settings.REGISTRY_STALLED_AFTER_MINUTES)


def stalled_environments(model: MlModel, now: datetime | None = None) -> set[str]:
    """Environments whose deployment has been `deploying` longer than REGISTRY_STALLED_AFTER_MINUTES.

    Deployments started before `pending_since` was recorded count from the model's last change.
    """
    now = now or clock.now()
    stalled = set()
    for env, state in environments_of(model).items():
        if not state.pending:
            continue
        since = clock.parse_iso(state.pending_since) if state.pending_since else model.updated_at
        if since is not None and now - since > stalled_after():
            stalled.add(env)
    return stalled


def mark_stalled(models: list[MlModel]) -> None:
    """Flag stalled deployments on the models in memory, for display (never saved from a page)."""
    now = clock.now()
    for model in models:
        stalled = stalled_environments(model, now)
        for env, state in environments_of(model).items():
            state.stalled = env in stalled


def deploy_options(scope: AccessScope) -> tuple[str, ...]:
    """Environments the scope may deploy to (a display hint; change_status enforces it)."""
    if scope.is_staff:
        return ENVIRONMENTS
    return tuple(env for env in ENVIRONMENTS if env != PRODUCTION)


def version_actions(
    scope: AccessScope,
    version: RegistryVersion,
    model: MlModel | None = None,
    *,
    protected: set[str] = frozenset(),
    may_ask: bool = False,
) -> dict[str, Any]:
    """What the detail page offers for a version; the service still checks each request.

    `deploy_to` are one-click deployments; `confirm_deploy_to` (promotions, production) and roll back,
    retire and finishing a production deployment go through the confirmation step (`ask_*`). A
    promotion into production keeps the version where it is unless the person asks (the
    confirmation offers “take it out of …”). A live version is only offered the next environment;
    `needs_staff` says why not when production is the next (or current) step: only staff change it.
    Where the tenant protects production and lets this scope ask (`may_ask`), production is offered
    too: the confirmation then sends a change request. Protected environments always confirm first.
    """
    allowed = MOVES.get(version.status, ())
    live = set(live_in(model, version)) if model is not None else {version.environment}
    live.discard(None)
    asks_production = may_ask and PRODUCTION in protected
    offer_all = scope.is_staff or asks_production
    may_touch_current = offer_all or (PRODUCTION not in live and version.environment != PRODUCTION)
    promote = version.status == DEPLOYED
    # A live version is promoted one step forward (dev → staging → production), never backwards.
    following = promotion_target(live) if promote else None
    options = ENVIRONMENTS if offer_all else deploy_options(scope)
    targets = [env for env in options if env == following] if promote else list(options)
    if not (DEPLOYING in allowed and may_touch_current):
        targets = []
    # Tenant admins cannot move production: say so where that is the next (or the current) step.
    needs_staff = ""
    finishing_production = version.status == DEPLOYING and version.stage == PRODUCTION
    if scope.is_staff:
        pass
    elif following == PRODUCTION and not offer_all:
        needs_staff = "Production changes need staff: ask Diatonic staff to promote it to production."
    elif finishing_production or (PRODUCTION in live and not offer_all):
        needs_staff = "Production changes need staff: ask Diatonic staff to change production."
    asks = [env for env in targets if promote or env == PRODUCTION or env in protected]
    return {
        "deploy_to": [env for env in targets if env not in asks],
        "confirm_deploy_to": asks,
        "promote": promote,
        "keep_source": version.environment if promote and PRODUCTION in targets else None,
        "finish": DEPLOYED in allowed and (scope.is_staff or version.stage != PRODUCTION),
        "finish_asks": version.stage == PRODUCTION,
        "roll_back": ROLLED_BACK in allowed and may_touch_current,
        "retire": RETIRED in allowed and may_touch_current,
        "needs_staff": needs_staff,
    }


def any_in_progress(models: list[MlModel]) -> bool:
    """A deployment worth polling for: in progress and not stalled (stalled ones need a person)."""
    now = clock.now()
    return any(
        model.status == DEPLOYING
        and any(
            state.pending and env not in stalled_environments(model, now)
            for env, state in environments_of(model).items()
        )
        for model in models
    )
