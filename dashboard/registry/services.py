"""The registry's state changes: registering models and versions, moving versions through the
lifecycle, and aliases. Every write, with the checks it needs, lives here once; reads are in
`queries`, and the pure rules (the state machine, who may touch production, what asks first) in
`lifecycle`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dashboard.audit import services as audit
from dashboard.core import clock
from dashboard.core.errors import NotFound, PermissionDenied, ValidationFailed
from dashboard.core.ids import new_id
from dashboard.core.scope import AccessScope, Can
from dashboard.dynamo.item_size import check_item_size
from dashboard.dynamo.transactions import save_together, with_retries
from dashboard.experiments import queries as experiments
from dashboard.registry import inputs, lifecycle, queries, version_numbers
from dashboard.registry.lifecycle import (
    DEPLOYED,
    DEPLOYING,
    FAILED,
    RETIRED,
    ROLLED_BACK,
)
from dashboard.registry.models import AliasEntry, MlModel, RegistryVersion, dataset_key

MODEL_CHANGED = (
    "Someone else changed this model at the same moment, so nothing was changed. "
    "Reload to see where it stands now."
)


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
    save_together([model, version, event], MODEL_CHANGED)
    return version


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
    save_together([model, version, event], MODEL_CHANGED)
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
    version's deployment history entry. DynamoDB: 2 GetItem (model, version), at most 2 more
    (the version replaced or restored), 1 TransactWriteItems. `confirmed=False` (a page's POST without
    its confirmation step) refuses the moves that ask first; the JSON API passes None. A promotion
    into production keeps the version live where it was unless `vacate` (the person ticked “take it
    out of staging”).
    """
    model = queries.get_model(scope, model_id, consistent=True)
    version = queries.get_version(model, version_id)
    environment = environment or None
    reason = _clean_reason(reason)
    lifecycle.check_move(version, to, environment, model)
    touched = lifecycle.environments_touched(version, to, environment, model)
    lifecycle.check_environments(scope, touched, to)
    if confirmed is False and lifecycle.needs_confirmation(version, to, touched):
        raise NeedsConfirmation(
            f"{lifecycle.label(to).capitalize()} {model.name} {version.version} needs confirming first: "
            "nothing was changed. Check what it changes below and confirm."
        )
    _check_reason(scope, touched, reason)
    now = clock.now()
    by = scope.actor_label
    if to == DEPLOYING:
        change = lifecycle.begin_deployment(
            model, version, environment, by=by, at=now, reason=reason, vacate=vacate
        )
    elif to in (DEPLOYED, FAILED):
        live = model.environments[version.stage].live if version.stage else None
        previous = (
            queries.get_version(model, live) if to == DEPLOYED and live and live != version.version else None
        )
        change = lifecycle.finish_deployment(
            model, version, to, previous=previous, by=by, at=now, reason=reason
        )
    elif to == ROLLED_BACK:
        where = environment or version.environment
        restore = queries.restore_candidate(model, version, where)
        change = lifecycle.roll_back(
            model, version, restore=restore, by=by, at=now, environment=where, reason=reason
        )
    else:
        change = lifecycle.retire(model, version, by=by, at=now, reason=reason)
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
    save_together([*change.items, event], MODEL_CHANGED)
    return StatusChange(model, version, change.message)


# --- aliases --------------------------------------------------------------------------------------


@dataclass
class AliasMove:
    model: MlModel
    alias: str
    version: str
    previous: str | None
    message: str


def set_alias(scope: AccessScope, model_id: str, alias: str, version_id: str) -> AliasMove:
    """Point `alias` at a version (creating or moving it), audited, in one conditional transaction.

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

        def build(tx) -> None:
            tx.save(current)
            tx.save(event)

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
    save_together([model, event], MODEL_CHANGED)
    return AliasMove(model, alias, entry.version, entry.version, f"{alias} removed.")
