"""The registry's state changes: registering models and versions, moving versions through the
lifecycle, and aliases. Every write, with the checks it needs, lives here once; reads are in
`queries`, and the pure rules (the state machine, who may touch production, what asks first) in
`lifecycle`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dashboard.alerts import events as alert_events
from dashboard.audit import services as audit
from dashboard.core import clock
from dashboard.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from dashboard.core.ids import new_id
from dashboard.core.scope import STAFF, AccessScope, Can
from dashboard.dynamo.item_size import check_item_size
from dashboard.dynamo.transactions import save_together, with_retries
from dashboard.experiments import queries as experiments
from dashboard.registry import approvals, inputs, lifecycle, queries, version_numbers
from dashboard.registry.lifecycle import (
    DEPLOYED,
    DEPLOYING,
    FAILED,
    RETIRED,
    ROLLED_BACK,
    SUPERSEDED,
)
from dashboard.registry.models import (
    AliasEntry,
    ChangeRequest,
    MlModel,
    RegistryPolicy,
    RegistryVersion,
    dataset_key,
)

MODEL_CHANGED = (
    "Someone else changed this model at the same moment, so nothing was changed. "
    "Reload to see where it stands now."
)


# --- events out: the tenant's webhook (and other channels), through the alerts delivery -----------


def _events(model: MlModel | ChangeRequest, event_type: str, message: str, **data: Any) -> list[Any]:
    """The event for the change's own transaction (the outbox), or none when the tenant has no
    channel to send it to (one GetItem). `model`: the model, or a request naming it."""
    if not alert_events.has_channel(model.tenant_id):
        return []
    name = model.model_name if isinstance(model, ChangeRequest) else model.name
    payload = {
        "model_id": model.model_id,
        "model_name": name,
        **{key: value for key, value in data.items() if value is not None},
    }
    return [alert_events.event_item(model.tenant_id, event_type, payload, message=message, subject=name)]


def _check_dataset(project_id: str, dataset_id: str | None) -> None:
    if not dataset_id:
        return
    dataset = queries.find_dataset(dataset_id)
    if dataset is None or dataset.project_id != project_id:
        raise ValidationFailed(
            "That dataset does not belong to the model's project.",
            {"dataset_id": "Unknown dataset for this project."},
        )


def _check_run(scope: AccessScope, tenant_id: str, data: inputs.VersionIn) -> inputs.VersionIn:
    """The run named as the version's origin must be one of the model's tenant; with no metrics
    given, the run's final metrics become the version's."""
    if not data.run_id:
        return data
    problem = ValidationFailed(
        "That experiment run was not found in this tenant.",
        {"run_id": "Unknown run for this tenant.", "experiment_id": "Unknown experiment run."},
    )
    try:
        run = experiments.get_run(scope, data.experiment_id, data.run_id)
    except (NotFound, PermissionDenied):
        raise problem from None
    if run.tenant_id != tenant_id:
        raise problem
    if not data.metrics:
        return data.model_copy(update={"metrics": experiments.final_metrics(run)})
    return data


def _check_version_rules(model: MlModel, data: inputs.VersionIn) -> None:
    scheme = version_numbers.scheme_of(data.version)
    if model.version_scheme and scheme != model.version_scheme:
        kind = (
            "increasing integers" if model.version_scheme == version_numbers.INTEGER else "semantic versions"
        )
        raise ValidationFailed(
            f"{model.name} numbers its versions with {kind} (latest {model.latest_version}).",
            {"version": f"Use {kind}, like the model's other versions."},
        )
    if scheme == version_numbers.INTEGER and not version_numbers.is_newer(data.version, model.latest_version):
        raise ValidationFailed(
            f"Integer versions only go up: the next version of {model.name} must be above {model.latest_version}.",
            {"version": f"Use a number above {model.latest_version}."},
        )
    if not queries.has_version(model.model_id, data.version):
        return
    raise ValidationFailed(
        f"{model.name} already has a version {data.version}.", {"version": "This version already exists."}
    )


def _new_version(model: MlModel, data: inputs.VersionIn, scope: AccessScope, now) -> RegistryVersion:
    return RegistryVersion(
        model_id=model.model_id,
        version=data.version,
        project_id=model.project_id,
        tenant_id=model.tenant_id,
        model_name=model.name,
        status=lifecycle.REGISTERED,
        framework=data.framework,
        artifact_uri=data.artifact_uri,
        dataset_id=data.dataset_id,
        experiment_id=data.experiment_id if data.run_id else None,
        run_id=data.run_id,
        run_key=experiments.run_key(model.tenant_id, data.experiment_id, data.run_id)
        if data.run_id
        else None,
        dataset_key=dataset_key(model.tenant_id, data.dataset_id),
        parameters=data.parameters or None,
        metrics=data.metrics or None,
        deployments=[],
        created_by=scope.actor_label,
        created_at=now,
        updated_at=now,
    )


def register_version(
    scope: AccessScope, model_id: str, data: inputs.VersionIn | Mapping[str, Any]
) -> RegistryVersion:
    """A new version of the model: `data` is the API's validated body or a form's values."""
    model = queries.get_model(scope, model_id, consistent=True)
    cleaned = inputs.clean_version(data)
    _check_version_rules(model, cleaned)
    _check_dataset(model.project_id, cleaned.dataset_id)
    cleaned = _check_run(scope, model.tenant_id, cleaned)
    now = clock.now()
    version = _new_version(model, cleaned, scope, now)
    lifecycle.add_version(model, version, now)
    check_item_size(version)
    check_item_size(model)
    event = audit.build_event(
        scope,
        "model_version.registered",
        "model_version",
        f"{model.model_id}@{version.version}",
        tenant_id=model.tenant_id,
        changes={"model": model.name, "version": version.version, **_lineage(version)},
    )
    out = _registered_events(scope, model, version)
    save_together([model, version, event, *out], MODEL_CHANGED)
    return version


def _registered_events(scope: AccessScope, model: MlModel, version: RegistryVersion) -> list:
    """The outgoing `model_version.registered` event (none when the tenant has no channel)."""
    return _events(
        model,
        "model_version.registered",
        f"{model.name} {version.version} was registered by {scope.actor_label}.",
        version=version.version,
        by=scope.actor_label,
    )


def _lineage(version: RegistryVersion) -> dict[str, str]:
    found = {}
    if version.run_id:
        found["run"] = f"{version.experiment_id}/{version.run_id}"
    if version.dataset_id:
        found["dataset"] = version.dataset_id
    return found


def register_model(
    scope: AccessScope, data: inputs.RegisterIn | Mapping[str, Any]
) -> tuple[MlModel, RegistryVersion]:
    """A new model with its first version, in one transaction: `data` is the API's validated body
    or a form's values."""
    scope.require(Can.TENANT_DATA)
    tenant_id = scope.require_tenant()
    errors: dict[str, str] = {}
    model_input = version_input = None
    try:
        model_input = inputs.clean_model(data)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    try:
        version_input = inputs.clean_version(data)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationFailed("Some fields need attention: " + ", ".join(sorted(errors)) + ".", errors)
    try:
        project = queries.get_project(scope, model_input.project_id)
    except NotFound:
        raise ValidationFailed("Choose one of your projects.", {"project_id": "Unknown project."}) from None
    if project.tenant_id != tenant_id:
        raise ValidationFailed("Choose one of your projects.", {"project_id": "Unknown project."})
    _check_dataset(project.project_id, version_input.dataset_id)
    version_input = _check_run(scope, tenant_id, version_input)
    now = clock.now()
    model = MlModel(
        model_id=new_id("mdl"),
        project_id=project.project_id,
        tenant_id=tenant_id,
        name=model_input.name,
        task=model_input.task,
        description=model_input.description,
        created_by=scope.actor_label,
        created_at=now,
        environments=lifecycle.empty_environments(),
    )
    version = _new_version(model, version_input, scope, now)
    lifecycle.add_version(model, version, now)
    check_item_size(version)
    check_item_size(model)
    event = audit.build_event(
        scope,
        "model.registered",
        "model",
        model.model_id,
        tenant_id=tenant_id,
        changes={
            "name": model.name,
            "project": project.name,
            "version": version.version,
            **_lineage(version),
        },
    )
    out = _registered_events(scope, model, version)
    save_together([model, version, event, *out], MODEL_CHANGED)
    return model, version


MAX_REASON = 500


class NeedsConfirmation(ValidationFailed):
    code = "confirmation_required"


def _clean_reason(reason: str | None) -> str:
    reason = " ".join((reason or "").split())
    if len(reason) > MAX_REASON:
        raise ValidationFailed(
            f"The reason is too long ({len(reason)} characters).",
            {"reason": f"At most {MAX_REASON} characters."},
        )
    return reason


def _check_reason(scope: AccessScope, touched: set[str], reason: str) -> None:
    if lifecycle.needs_reason(scope, touched) and not reason:
        raise ValidationFailed(
            "Changes to production need a reason: it goes to the audit trail and the deployment history. "
            "Nothing was changed.",
            {"reason": "Say why production changes (at least a few words)."},
        )


@dataclass
class StatusChange:
    model: MlModel
    version: RegistryVersion
    message: str
    request: ChangeRequest | None = None  # set: the change touched a protected target and now waits


def _move(
    model: MlModel,
    version: RegistryVersion,
    to: str,
    environment: str | None,
    *,
    by: str,
    now,
    reason: str,
    vacate: bool,
) -> lifecycle.Change:
    """The change a move makes (in memory), reading the versions it replaces or restores."""
    if to == DEPLOYING:
        return lifecycle.begin_deployment(
            model, version, environment, by=by, at=now, reason=reason, vacate=vacate
        )
    if to in (DEPLOYED, FAILED):
        live = model.environments[version.stage].live if version.stage else None
        previous = (
            queries.get_version(model, live) if to == DEPLOYED and live and live != version.version else None
        )
        return lifecycle.finish_deployment(
            model, version, to, previous=previous, by=by, at=now, reason=reason
        )
    if to == ROLLED_BACK:
        where = environment or version.environment
        restore = queries.restore_candidate(model, version, where)
        return lifecycle.roll_back(
            model, version, restore=restore, by=by, at=now, environment=where, reason=reason
        )
    return lifecycle.retire(model, version, by=by, at=now, reason=reason)


def change_status(
    scope: AccessScope,
    model_id: str,
    version_id: str,
    to: str,
    environment: str | None = None,
    *,
    reason: str = "",
    confirmed: bool | None = None,
    vacate: bool = False,
) -> StatusChange:
    """Move one version through the state machine; everything it changes lands in one transaction.

    A person changing production gives a `reason`: it is stored in the audit event and in the
    version's deployment history entry. DynamoDB: 2 GetItem (model, version), 1 GetItem (the
    tenant's policy), at most 2 more (the version replaced or restored), 1 TransactWriteItems.
    `confirmed=False` (a page's POST without its confirmation step) refuses the moves that ask first;
    the JSON API passes None. A promotion into production keeps the version live where it was unless
    `vacate` (the person ticked “take it out of staging”).

    A move that touches an environment the tenant protects is not made: it becomes a change request
    (`StatusChange.request`) that another person decides (`decide_request`).
    """
    model = queries.get_model(scope, model_id, consistent=True)
    version = queries.get_version(model, version_id)
    environment = environment or None
    reason = _clean_reason(reason)
    lifecycle.check_move(version, to, environment, model)
    touched = lifecycle.environments_touched(version, to, environment, model)
    policy = queries.policy_for(model.tenant_id)
    held = approvals.held_targets(policy, to=to, touched=touched)
    if held:
        approvals.check_may_request(policy, scope, held)
    else:
        lifecycle.check_environments(scope, touched, to)
    if confirmed is False and (held or lifecycle.needs_confirmation(version, to, touched)):
        raise NeedsConfirmation(
            f"{lifecycle.label(to).capitalize()} {model.name} {version.version} needs confirming first: "
            "nothing was changed. Check what it changes below and confirm."
        )
    if held:
        if not reason:
            raise ValidationFailed(
                "A change to a protected target needs a reason: the approver reads it. Nothing was changed.",
                {"reason": "Say why this should change (at least a few words)."},
            )
        current = model.environments[environment].live if to == DEPLOYING else version.version
        restore = None
        if to == ROLLED_BACK:
            restore = queries.restore_candidate(model, version, environment or version.environment)
            restore = restore if restore is not None and restore.status == SUPERSEDED else None
        # Checked now (in memory, nothing saved) so nobody is asked to approve a move that cannot be made.
        _move(
            model,
            version,
            to,
            environment,
            by=scope.actor_label,
            now=clock.now(),
            reason=reason,
            vacate=vacate,
        )
        request = _open_request(
            scope,
            policy,
            model,
            version,
            held,
            kind=approvals.STATUS_KIND,
            to=to,
            environment=environment or (version.environment if to == ROLLED_BACK else None),
            vacate=vacate,
            reason=reason,
            current=current,
            restore=restore,
        )
        return StatusChange(model, version, _requested_message(request), request)
    _check_reason(scope, touched, reason)
    now = clock.now()
    change = _move(
        model, version, to, environment, by=scope.actor_label, now=now, reason=reason, vacate=vacate
    )
    changes = {"model": model.name, "version": version.version, **change.changes}
    if reason:
        changes["reason"] = reason
    event = audit.build_event(
        scope,
        change.action,
        "model_version",
        f"{model.model_id}@{version.version}",
        tenant_id=model.tenant_id,
        changes=changes,
    )
    out = _deployment_events(model, version, change, scope.actor_label, reason)
    save_together([*change.items, event, *out], MODEL_CHANGED)
    return StatusChange(model, version, change.message)


def _deployment_events(
    model: MlModel, version: RegistryVersion, change: lifecycle.Change, by: str, reason: str, **more: Any
) -> list[Any]:
    return _events(
        model,
        "model_version.deployment_changed",
        change.message,
        version=version.version,
        status=version.status,
        environment=change.changes.get("environment"),
        changes=change.changes,
        by=by,
        reason=reason or None,
        **more,
    )


# --- change requests (four eyes) ------------------------------------------------------------------


def _requested_message(request: ChangeRequest) -> str:
    targets = ", ".join(approvals.target_label(t) for t in request.targets)
    return (
        f"{targets.capitalize()} is protected: your request to {approvals.describe(request)} "
        "now waits for another person to approve it. Nothing has changed yet."
    )


def _evidence(
    scope: AccessScope,
    model: MlModel,
    version: RegistryVersion,
    current: str | None,
    restore: RegistryVersion | None = None,
) -> dict[str, Any]:
    """What the approver sees: the metrics of the version asked for and of the one it replaces, and
    (when the replaced version serves agents) what the change would cost, as of the request.

    A roll back that restores an older version (`restore`) is the same change the other way: the
    restored version is the candidate, the one rolled back is current, re-priced the same way."""
    if restore is not None and restore.version != version.version:
        back: dict[str, Any] = {
            "restores": restore.version,
            "candidate": {"version": restore.version, "metrics": restore.metrics or {}},
            "current": {"version": version.version, "metrics": version.metrics or {}},
        }
        impact = queries.cost_impact(scope, model, restore, version)
        if impact is not None:
            back["cost"] = impact
        return back
    evidence: dict[str, Any] = {"candidate": {"version": version.version, "metrics": version.metrics or {}}}
    if current and current != version.version:
        replaced = queries.find_version(model, current)
        evidence["current"] = {
            "version": current,
            "metrics": (replaced.metrics or {}) if replaced is not None else {},
        }
        impact = queries.cost_impact(scope, model, version, replaced)
        if impact is not None:
            evidence["cost"] = impact
    return evidence


def _open_request(
    scope: AccessScope,
    policy,
    model: MlModel,
    version: RegistryVersion,
    held: list[str],
    *,
    kind: str,
    reason: str,
    to: str | None = None,
    environment: str | None = None,
    alias: str | None = None,
    vacate: bool = False,
    current: str | None = None,
    restore: RegistryVersion | None = None,
) -> ChangeRequest:
    """Record the request and its audit event (one transaction); nothing else changes."""
    now = clock.now()
    request = ChangeRequest(
        tenant_id=model.tenant_id,
        request_id=new_id("chg"),
        model_id=model.model_id,
        model_name=model.name,
        kind=kind,
        version=version.version,
        to=to,
        environment=environment,
        alias=alias,
        vacate="1" if vacate else None,
        targets=held,
        current=current,
        reason=reason,
        state=approvals.OPEN,
        open_tenant=model.tenant_id,
        requested_by=scope.actor_label,
        requested_by_id=scope.actor_id,
        requested_role=scope.role,
        requested_at=now,
        expires_at=approvals.expiry(policy, now),
        evidence=_evidence(scope, model, version, current, restore),
    )
    check_item_size(request)
    event = audit.build_event(
        scope,
        "model.change_requested",
        "change_request",
        request.request_id,
        tenant_id=model.tenant_id,
        changes={
            "model": model.name,
            "change": approvals.describe(request),
            "protected": ", ".join(held),
            "reason": reason,
        },
    )
    out = _events(
        model,
        "approval.requested",
        f"{scope.actor_label} asks to {approvals.describe(request)}: {reason}",
        request_id=request.request_id,
        change=approvals.describe(request),
        version=version.version,
        environment=environment,
        alias=alias,
        protected=held,
        by=scope.actor_label,
        reason=reason,
        expires_at=request.expires_at.isoformat(),
    )
    save_together([request, event, *out], MODEL_CHANGED)
    return request


@dataclass
class Decision:
    request: ChangeRequest
    message: str


def _apply(scope: AccessScope, request: ChangeRequest, model: MlModel, now) -> lifecycle.Change:
    """The change the request asked for, made now (in memory) on the model as it stands; the
    lifecycle refuses it (IllegalMove, Conflict, ValidationFailed) if it can no longer be made."""
    version = queries.get_version(model, request.version)
    by = request.requested_by
    if request.kind == approvals.ALIAS_KIND:
        if version.status == RETIRED:
            raise ValidationFailed(
                f"Version {version.version} was retired meanwhile; an alias cannot point to it."
            )
        aliases = dict(model.aliases or {})
        previous = aliases[request.alias].version if aliases.get(request.alias) else None
        aliases[request.alias] = AliasEntry(version=version.version, since=now.isoformat(), by=by)
        model.aliases = aliases
        model.updated_at = now
        return lifecycle.Change(
            [model],
            "model.alias_moved" if previous else "model.alias_set",
            {"alias": request.alias, "version": f"{previous or '—'} → {version.version}"},
            f"{request.alias} of {model.name} now points to {version.version}.",
        )
    lifecycle.check_move(version, request.to, request.environment, model)
    touched = lifecycle.environments_touched(version, request.to, request.environment, model)
    lifecycle.check_environments(scope, touched, request.to)  # the approver may make this change
    change = _move(
        model,
        version,
        request.to,
        request.environment,
        by=by,
        now=now,
        reason=request.reason,
        vacate=request.vacate == "1",
    )
    for item in change.items:
        if isinstance(item, RegistryVersion):
            for entry in item.deployments or []:
                if entry.at == now.isoformat():  # the rows this change started
                    entry.approved_by, entry.request_id = scope.actor_label, request.request_id
    return change


WORKER = AccessScope(role=STAFF, actor_id="worker", actor_label="background worker", tenant_id=None)


def _expiry_items(scope: AccessScope, request: ChangeRequest, now) -> list[Any]:
    """Close an expired request (in memory) and the audit event and registry event that say so."""
    approvals.expire(request, now)
    event = audit.build_event(
        scope,
        "model.change_expired",
        "change_request",
        request.request_id,
        tenant_id=request.tenant_id,
        changes={
            "model": request.model_name,
            "change": approvals.describe(request),
            "requested_by": request.requested_by,
            "decision": approvals.EXPIRED,
            "outcome": request.outcome,
        },
    )
    out = _events(
        request,
        "approval.decided",
        f"The request to {approvals.describe(request)} expired without a decision",
        request_id=request.request_id,
        change=approvals.describe(request),
        state=approvals.EXPIRED,
        requested_by=request.requested_by,
        outcome=request.outcome,
    )
    return [request, event, *out]


def expire_requests(now=None) -> int:
    """The background pass (alerts' `one_pass`): close every tenant's requests past their expiry as
    expired, each in its own transaction with its audit event, so they leave the open index.
    DynamoDB: 1 Query (tenants), 1 Query per tenant (its open index), 1 TransactWriteItems per
    expired request. A request decided meanwhile fails its condition and is left as decided."""
    now = now or clock.now()
    closed = 0
    for tenant_id in queries.tenant_ids():
        for request in queries.expired_requests(tenant_id, now):
            try:
                save_together(_expiry_items(WORKER, request, now), MODEL_CHANGED)
            except Conflict:
                continue  # decided (or expired) by someone else meanwhile: theirs stands
            closed += 1
    return closed


def decide_request(scope: AccessScope, request_id: str, decision: str, reason: str) -> Decision:
    """Approve (the change is made in the same transaction as the decision) or reject a request.

    The request's and the model's `row_version` conditions make every race one outcome: of two
    approvers at once one lands and the other is told who approved first; a version retired (or a
    target moved) before the approval lands closes the request as obsolete, saying why.
    DynamoDB per try: 1 GetItem (request), for an approval 2-4 GetItem (model, versions),
    1 TransactWriteItems.
    """
    scope.require(Can.TENANT_DATA)
    result: dict[str, Any] = {}

    def prepare():
        request = queries.get_request(scope, request_id)
        now = clock.now()
        if approvals.is_expired(request, now) and decision in approvals.DECISIONS:
            # Past its expiry it cannot be decided: it is closed as expired (the audit trail says
            # so) and the person is told; the change it asked for is not made.
            items = _expiry_items(scope, request, now)
            result["expired"] = approvals.expired_message(request)

            def close(tx) -> None:
                for item in items:
                    tx.save(item)

            return close
        why = approvals.check_decision(request, scope, decision, reason, now)
        events = []
        items: list[Any] = [request]
        if decision == approvals.REJECT:
            approvals.decide(request, scope, approvals.REJECTED, why, now)
            message = f"Rejected: {approvals.describe(request)}. {request.requested_by} is told why."
        else:
            model = queries.get_model(scope, request.model_id, consistent=True)
            try:
                change = _apply(scope, request, model, now)
            except PermissionDenied:
                raise
            except (Conflict, ValidationFailed, NotFound) as exc:
                approvals.decide(request, scope, approvals.OBSOLETE, why, now, outcome=exc.message)
                result["obsolete"] = exc.message
                message = exc.message
            else:
                approvals.decide(request, scope, approvals.APPROVED, why, now, outcome=change.message)
                items += change.items
                events.append(
                    audit.build_event(
                        scope,
                        change.action,
                        "model_version" if request.kind == approvals.STATUS_KIND else "model",
                        f"{model.model_id}@{request.version}"
                        if request.kind == approvals.STATUS_KIND
                        else model.model_id,
                        tenant_id=model.tenant_id,
                        changes={
                            "model": model.name,
                            "version": request.version,
                            **change.changes,
                            "reason": request.reason,
                            "requested_by": request.requested_by,
                            "approved_by": scope.actor_label,
                        },
                    )
                )
                message = f"Approved: {change.message}"
                if request.kind == approvals.STATUS_KIND:
                    events.extend(
                        _deployment_events(
                            model,
                            next(
                                i
                                for i in change.items
                                if isinstance(i, RegistryVersion) and i.version == request.version
                            ),
                            change,
                            request.requested_by,
                            request.reason,
                            approved_by=scope.actor_label,
                            request_id=request.request_id,
                        )
                    )
                else:
                    events.extend(
                        _events(
                            model,
                            "model.alias_moved",
                            change.message,
                            alias=request.alias,
                            version=request.version,
                            previous=request.current,
                            by=request.requested_by,
                            approved_by=scope.actor_label,
                            request_id=request.request_id,
                        )
                    )
        events.append(
            audit.build_event(
                scope,
                f"model.change_{request.state}",
                "change_request",
                request.request_id,
                tenant_id=request.tenant_id,
                changes={
                    "model": request.model_name,
                    "change": approvals.describe(request),
                    "requested_by": request.requested_by,
                    "decision": request.state,
                    "reason": why,
                    **({"outcome": request.outcome} if request.outcome else {}),
                },
            )
        )
        result.update(request=request, message=message)
        events.extend(
            _events(
                request,
                "approval.decided",
                f"{scope.actor_label} {request.state} the request to {approvals.describe(request)}: {why}",
                request_id=request.request_id,
                change=approvals.describe(request),
                state=request.state,
                requested_by=request.requested_by,
                decided_by=scope.actor_label,
                reason=why,
                outcome=request.outcome,
            )
        )

        def build(tx) -> None:
            for item in [*items, *events]:
                tx.save(item)

        return build

    # A failed condition (another decision, or the model changed) reads everything again: the next
    # try sees the other decision (and says who made it) or the model as it now stands.
    with_retries(prepare, on_conflict=lambda: None, busy_message=MODEL_CHANGED)
    if "expired" in result:
        raise Conflict(result["expired"])
    if "obsolete" in result:
        raise Conflict(
            f"The change could not be made any more: {result['obsolete']} "
            "The request is closed as obsolete; nothing else was changed."
        )
    return Decision(result["request"], result["message"])


def send_test_event(scope: AccessScope) -> str:
    """A `test` event to the tenant's channels through the same delivery as every registry event,
    so a receiver can be checked before a real change; audited. Returns the event's key."""
    scope.require(Can.TENANT_PAGES)
    tenant_id = scope.require_tenant()
    if not alert_events.has_channel(tenant_id):
        raise ValidationFailed(
            "This tenant has no webhook yet: set one (with its secret) on the Alerts page first. "
            "Nothing was sent."
        )
    key = alert_events.deliver_event(
        tenant_id,
        "test",
        {"sent_by": scope.actor_label, "note": "A test event from the model registry."},
        message=f"Test event sent by {scope.actor_label}.",
        subject="registry",
    )
    audit.record(scope, "registry.test_event", "webhook", key, tenant_id)
    return key


def save_policy(scope: AccessScope, data: dict[str, Any]) -> RegistryPolicy:
    """Tenant admins (and staff for the chosen tenant) protect environments and aliases; audited."""
    scope.require(Can.TENANT_PAGES)
    value = inputs.clean_policy(data)
    policy = queries.get_policy(scope)
    before = {
        "protected_environments": ", ".join(policy.protected_environments or []) or "—",
        "protected_aliases": ", ".join(policy.protected_aliases or []) or "—",
        "requesters": ", ".join(approvals.requesters(policy)) or "staff only",
        "expiry_hours": str(int(policy.expiry_hours or approvals.DEFAULT_EXPIRY_HOURS)),
    }
    policy.protected_environments = value.protected_environments or None
    policy.protected_aliases = value.protected_aliases or None
    policy.requesters = value.requesters
    policy.expiry_hours = value.expiry_hours
    policy.updated_at = clock.now()
    policy.updated_by = scope.actor_label
    after = {
        "protected_environments": ", ".join(value.protected_environments) or "—",
        "protected_aliases": ", ".join(value.protected_aliases) or "—",
        "requesters": ", ".join(value.requesters) or "staff only",
        "expiry_hours": str(value.expiry_hours),
    }
    changes = {key: f"{before[key]} → {after[key]}" for key in after if before[key] != after[key]}
    event = audit.build_event(
        scope, "registry.policy_changed", "registry_policy", policy.tenant_id, policy.tenant_id, changes
    )
    save_together(
        [policy, event], "Someone else changed the protection at the same moment; reload and try again."
    )
    return policy


# --- aliases --------------------------------------------------------------------------------------


@dataclass
class AliasMove:
    model: MlModel
    alias: str
    version: str
    previous: str | None
    message: str
    request: ChangeRequest | None = None  # set: the alias is protected and the move waits for approval


def set_alias(
    scope: AccessScope, model_id: str, alias: str, version_id: str, *, reason: str = ""
) -> AliasMove:
    """Point `alias` at a version (creating or moving it), audited, in one conditional transaction.

    A protected alias is not moved: the move becomes a change request (`AliasMove.request`), which
    needs a `reason`.

    The model item's `row_version` is the lock: two moves at the same moment are applied one after
    the other (the later one re-reads and records the version it moved the alias from), never mixed.
    """
    model = queries.get_model(scope, model_id, consistent=True)  # another tenant's model: 404 before anything
    alias = inputs.clean_alias(alias)
    if not isinstance(version_id, str) or not version_id.strip():
        raise ValidationFailed("Choose the version the alias points to.", {"version": "required"})
    version = queries.get_version(model, version_id.strip())
    if version.status == RETIRED:
        raise ValidationFailed(
            f"Version {version.version} is retired; an alias cannot point to it.",
            {"version": "a retired version"},
        )
    policy = queries.policy_for(model.tenant_id)
    held = approvals.held_targets(policy, alias=alias)
    if held:
        approvals.check_may_request(policy, scope, held)
        reason = _clean_reason(reason)
        if not reason:
            raise ValidationFailed(
                f"{alias} is protected: say why it should move; the approver reads it. Nothing was changed.",
                {"reason": "A reason is required for a protected alias."},
            )
        entry = (model.aliases or {}).get(alias)
        current = entry.version if entry else None
        request = _open_request(
            scope,
            policy,
            model,
            version,
            held,
            kind=approvals.ALIAS_KIND,
            alias=alias,
            reason=reason,
            current=current,
        )
        return AliasMove(model, alias, version.version, current, _requested_message(request), request)
    result: dict[str, Any] = {}
    state = {"model": model}

    def prepare():
        current = state["model"]
        aliases = dict(current.aliases or {})
        previous = aliases[alias].version if aliases.get(alias) else None
        if alias not in aliases and len(aliases) >= inputs.MAX_ALIASES:
            raise ValidationFailed(
                f"A model has at most {inputs.MAX_ALIASES} aliases; remove one first.",
                {"alias": f"at most {inputs.MAX_ALIASES}"},
            )
        now = clock.now()
        aliases[alias] = AliasEntry(version=version.version, since=now.isoformat(), by=scope.actor_label)
        current.aliases = aliases
        current.updated_at = now
        check_item_size(current)
        event = audit.build_event(
            scope,
            "model.alias_set" if previous is None else "model.alias_moved",
            "model",
            current.model_id,
            tenant_id=current.tenant_id,
            changes={"alias": alias, "version": f"{previous or '—'} → {version.version}"},
        )
        result.update(previous=previous, model=current)
        out = _events(
            current,
            "model.alias_moved",
            f"{alias} of {current.name} now points to {version.version} (was {previous or 'unset'}).",
            alias=alias,
            version=version.version,
            previous=previous,
            by=scope.actor_label,
        )

        def build(tx) -> None:
            tx.save(current)
            tx.save(event)
            for item in out:
                tx.save(item)

        return build

    def reread() -> None:
        state["model"] = queries.get_model(scope, model_id, consistent=True)

    with_retries(prepare, on_conflict=reread, busy_message=MODEL_CHANGED)
    previous = result["previous"]
    if previous == version.version:
        message = f"{alias} already points to {version.version}."
    elif previous:
        message = f"{alias} moved from {previous} to {version.version}."
    else:
        message = f"{alias} now points to {version.version}."
    return AliasMove(result["model"], alias, version.version, previous, message)


def remove_alias(scope: AccessScope, model_id: str, alias: str) -> AliasMove:
    model = queries.get_model(scope, model_id, consistent=True)
    alias = inputs.clean_alias(alias)
    entry = (model.aliases or {}).get(alias)
    if not entry:
        raise NotFound(f"{model.name} has no alias “{alias}”.", {"alias": "unknown alias"})
    if approvals.held_targets(queries.policy_for(model.tenant_id), alias=alias):
        raise PermissionDenied(
            f"{alias} is protected: a tenant admin must stop protecting it before it can be removed. "
            "Nothing was changed."
        )
    aliases = {name: value for name, value in (model.aliases or {}).items() if name != alias}
    model.aliases = aliases or None
    model.updated_at = clock.now()
    event = audit.build_event(
        scope,
        "model.alias_removed",
        "model",
        model.model_id,
        tenant_id=model.tenant_id,
        changes={"alias": alias, "version": f"{entry.version} → —"},
    )
    out = _events(
        model,
        "model.alias_moved",
        f"{alias} of {model.name} was removed (it pointed to {entry.version}).",
        alias=alias,
        version=None,
        previous=entry.version,
        by=scope.actor_label,
    )
    save_together([model, event, *out], MODEL_CHANGED)
    return AliasMove(model, alias, entry.version, entry.version, f"{alias} removed.")
