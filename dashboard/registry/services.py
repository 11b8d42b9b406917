"""The registry's operations: every read, rule, permission check and write lives here once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from django.conf import settings
from pynamodb.exceptions import DoesNotExist

from dashboard.accounts import queries as account_queries
from dashboard.accounts.queries import MAX_KEY_LENGTH, get_in_scope
from dashboard.accounts.scope import AccessScope, Can
from dashboard.audit import services as audit
from dashboard.core import clock
from dashboard.core.errors import NotFound, PermissionDenied, ValidationFailed
from dashboard.core.ids import new_id
from dashboard.dynamo.item_size import check_item_size
from dashboard.dynamo.paging import Page, paginate
from dashboard.dynamo.transactions import save_together, with_retries
from dashboard.experiments import queries as experiments
from dashboard.flows import services as flows

if TYPE_CHECKING:
    from dashboard.flows.models import Project
from dashboard.registry import inputs, lifecycle, queries, versions
from dashboard.registry.lifecycle import (
    DEPLOYED,
    DEPLOYING,
    FAILED,
    PRODUCTION,
    RETIRED,
    ROLLED_BACK,
    SUPERSEDED,
)
from dashboard.registry.models import AliasEntry, Dataset, MlModel, RegistryVersion, dataset_key

PAGE_SIZE = 25
MAX_VERSIONS = 500  # a detail page reads at most this many versions (one or two Query calls)
MAX_PROJECTS = 100
LIST_STATUSES = (DEPLOYING, DEPLOYED, FAILED, "registered", ROLLED_BACK, RETIRED)


# --- reads -------------------------------------------------------------------------------------


def list_models(
    scope: AccessScope,
    *,
    project_id: str | None = None,
    status: str | None = None,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
) -> Page[MlModel]:
    """Models newest-changed first; one Query on a key whatever the filters."""
    scope.require(Can.TENANT_DATA)
    if status and status not in LIST_STATUSES:
        raise ValidationFailed(
            f"“{status}” is not a status to filter by.",
            {"status": f"Use one of: {', '.join(LIST_STATUSES)}."},
        )
    if project_id:
        project = get_project(scope, project_id)
        if status:
            query = partial(MlModel.by_project_status.query, f"{project.project_id}#{status}")
        else:
            query = partial(MlModel.by_project.query, project.project_id)
        purpose = f"models:project:{project.project_id}:{status or ''}"
    elif scope.tenant_id:
        if status:
            query = partial(MlModel.by_tenant_status.query, f"{scope.tenant_id}#{status}")
        else:
            query = partial(MlModel.by_tenant.query, scope.tenant_id)
        purpose = f"models:tenant:{scope.tenant_id}:{status or ''}"
    else:
        query = (
            partial(MlModel.by_status.query, status) if status else partial(MlModel.everywhere.query, "model")
        )
        purpose = f"models:all:{status or ''}"
    return paginate(partial(query, scan_index_forward=False), purpose=purpose, limit=limit, cursor=cursor)


def get_project(scope: AccessScope, project_id: str) -> Project:
    return flows.get_project(scope, project_id)


def list_projects(scope: AccessScope) -> list[Project]:
    """The tenant's projects for the filter and the register form (none when staff see all tenants)."""
    if not scope.tenant_id:
        return []
    # The most recently active projects: a tenant with many keeps its current ones choosable.
    projects = flows.list_projects(scope, limit=MAX_PROJECTS).items
    return sorted(projects, key=lambda project: project.name.lower())


def project_names(scope: AccessScope, models: list[MlModel], known: list[Project] = ()) -> dict[str, str]:
    """Names of the projects a page of models belongs to: what is known, plus one BatchGet."""
    return flows.project_names({model.project_id for model in models}, list(known))


def get_model(scope: AccessScope, model_id: str, *, consistent: bool = False) -> MlModel:
    scope.require(Can.TENANT_DATA)
    model = get_in_scope(scope, MlModel, model_id, what="That model", consistent_read=consistent)
    lifecycle.environments_of(model)
    return model


def get_version(model: MlModel, version: str, *, consistent: bool = True) -> RegistryVersion:
    if len(version) > MAX_KEY_LENGTH:
        raise NotFound(f"That version of {model.name} was not found.", {"version": "unknown version"})
    try:
        return RegistryVersion.get(model.model_id, version, consistent_read=consistent)
    except DoesNotExist:
        raise NotFound(
            f"Version {version} of {model.name} was not found.", {"version": "unknown version"}
        ) from None


def model_versions(model: MlModel) -> list[RegistryVersion]:
    """Every version of the model, newest (by version order, not text order) first."""
    items = RegistryVersion.query(model.model_id, limit=MAX_VERSIONS, page_size=MAX_VERSIONS)
    return versions.newest_first(items, key=lambda item: item.version)


@dataclass
class HistoryRow:
    version: str
    environment: str | None
    kind: str
    previous: str | None
    by: str
    at: str
    outcome: str
    finished_at: str | None = None
    ended_at: str | None = None
    note: str = ""
    reason: str = ""


def deployment_history(items: list[RegistryVersion]) -> list[HistoryRow]:
    """Who deployed what where and when, from which version, and how it ended; newest first."""
    rows = []
    for item in items:
        for entry in item.deployments or []:
            note = ""
            if entry.replaced_by:
                note = f"replaced by {entry.replaced_by}"
            elif entry.moved_to:
                note = f"promoted to {entry.moved_to}"
            elif entry.promoted_from:
                note = f"promoted from {entry.promoted_from}"
            rows.append(
                HistoryRow(
                    version=item.version,
                    environment=entry.environment,
                    kind=entry.kind or "deploy",
                    previous=entry.previous,
                    by=entry.by or "",
                    at=entry.at or "",
                    outcome=entry.outcome or "",
                    finished_at=entry.finished_at,
                    ended_at=entry.ended_at,
                    note=note,
                    reason=" · ".join(
                        why for why in (entry.reason, entry.finish_reason, entry.rollback_reason) if why
                    ),
                )
            )
    return sorted(rows, key=lambda row: row.at, reverse=True)


def metric_names(items: list[RegistryVersion]) -> list[str]:
    names: dict[str, None] = {}
    for item in versions.oldest_first(items, key=lambda item: item.version):
        for name in item.metrics or {}:
            names.setdefault(name, None)
    return list(names)


def metric_series(items: list[RegistryVersion], metric: str) -> list[dict[str, Any]]:
    """One metric across versions, oldest version first; versions that do not report it are skipped."""
    return [
        {"version": item.version, "value": (item.metrics or {})[metric]}
        for item in versions.oldest_first(items, key=lambda item: item.version)
        if metric in (item.metrics or {})
    ]


@dataclass
class Comparison:
    left: RegistryVersion
    right: RegistryVersion
    rows: list[tuple[str, Any, Any, float | None]] = field(default_factory=list)  # name, left, right, delta


def compare(items: list[RegistryVersion], left: str, right: str) -> Comparison:
    by_version = {item.version: item for item in items}
    missing = [v for v in (left, right) if v not in by_version]
    if missing:
        raise NotFound(f"Version {missing[0]} was not found.", {"compare": "unknown version"})
    a, b = by_version[left], by_version[right]
    comparison = Comparison(a, b)
    for name in metric_names([a, b]):
        x, y = (a.metrics or {}).get(name), (b.metrics or {}).get(name)
        delta = y - x if isinstance(x, int | float) and isinstance(y, int | float) else None
        comparison.rows.append((name, x, y, delta))
    return comparison


def dataset_names(items: list[RegistryVersion]) -> dict[str, str]:
    """Names of the datasets versions were trained on: one BatchGet."""
    ids = sorted({item.dataset_id for item in items if item.dataset_id})
    return {dataset.dataset_id: dataset.name for dataset in Dataset.batch_get(ids)} if ids else {}


def datasets_for(projects: list[Project]) -> list[Dataset]:
    """Datasets of the given projects (a Query each; the tenant's project list is short and capped)."""
    found = []
    for project in projects[:MAX_PROJECTS]:
        found.extend(Dataset.by_project.query(project.project_id, scan_index_forward=False, limit=50))
    return found


# --- writes ------------------------------------------------------------------------------------


MODEL_CHANGED = (
    "Someone else changed this model at the same moment, so nothing was changed. "
    "Reload to see where it stands now."
)


def _check_dataset(project_id: str, dataset_id: str | None) -> None:
    if not dataset_id:
        return
    try:
        dataset = Dataset.get(dataset_id)
    except DoesNotExist:
        dataset = None
    if dataset is None or dataset.project_id != project_id:
        raise ValidationFailed(
            "That dataset does not belong to the model's project.",
            {"dataset_id": "Unknown dataset for this project."},
        )


def _check_run(scope: AccessScope, tenant_id: str, data: inputs.VersionInput) -> None:
    """The run named as the version's origin must be one of the model's tenant; with no metrics
    given, the run's final metrics become the version's."""
    if not data.run_id:
        return
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
        data.metrics = experiments.final_metrics(run)


def run_metrics(scope: AccessScope, experiment_id: str, run_id: str) -> dict[str, float]:
    """A run's final metrics, offered on the register forms (empty when the run is unknown)."""
    try:
        return experiments.final_metrics(experiments.get_run(scope, experiment_id, run_id))
    except (NotFound, PermissionDenied):
        return {}


def recent_runs(scope: AccessScope, limit: int = 10) -> list[tuple[str, str, str]]:
    """(experiment id, run id, label) of the tenant's latest runs, for the forms' run choice."""
    if not scope.tenant_id:
        return []
    choices = []
    for summary in experiments.list_experiments(scope, limit=limit).items:
        for run in summary.runs:
            choices.append(
                (run.experiment_id, run.run_id, f"{summary.experiment.name} · {run.name or run.run_id}")
            )
    return choices


def _check_version_rules(model: MlModel, data: inputs.VersionInput) -> None:
    scheme = versions.scheme_of(data.version)
    if model.version_scheme and scheme != model.version_scheme:
        kind = "increasing integers" if model.version_scheme == versions.INTEGER else "semantic versions"
        raise ValidationFailed(
            f"{model.name} numbers its versions with {kind} (latest {model.latest_version}).",
            {"version": f"Use {kind}, like the model's other versions."},
        )
    if scheme == versions.INTEGER and not versions.is_newer(data.version, model.latest_version):
        raise ValidationFailed(
            f"Integer versions only go up: the next version of {model.name} must be above {model.latest_version}.",
            {"version": f"Use a number above {model.latest_version}."},
        )
    try:
        RegistryVersion.get(model.model_id, data.version, consistent_read=True)
    except DoesNotExist:
        return
    raise ValidationFailed(
        f"{model.name} already has a version {data.version}.", {"version": "This version already exists."}
    )


def _new_version(model: MlModel, data: inputs.VersionInput, scope: AccessScope, now) -> RegistryVersion:
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
        run_key=queries.run_key(model.tenant_id, data.experiment_id, data.run_id) if data.run_id else None,
        dataset_key=dataset_key(model.tenant_id, data.dataset_id),
        parameters=data.parameters or None,
        metrics=data.metrics or None,
        deployments=[],
        created_by=scope.actor_label,
        created_at=now,
        updated_at=now,
    )


def register_version(scope: AccessScope, model_id: str, data: dict[str, Any]) -> RegistryVersion:
    model = get_model(scope, model_id, consistent=True)
    cleaned = inputs.clean_version(data)
    _check_version_rules(model, cleaned)
    _check_dataset(model.project_id, cleaned.dataset_id)
    _check_run(scope, model.tenant_id, cleaned)
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


def register_model(scope: AccessScope, data: dict[str, Any]) -> tuple[MlModel, RegistryVersion]:
    """A new model with its first version, in one transaction."""
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
        project = get_project(scope, model_input.project_id)
    except NotFound:
        raise ValidationFailed("Choose one of your projects.", {"project_id": "Unknown project."}) from None
    if project.tenant_id != tenant_id:
        raise ValidationFailed("Choose one of your projects.", {"project_id": "Unknown project."})
    _check_dataset(project.project_id, version_input.dataset_id)
    _check_run(scope, tenant_id, version_input)
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


def _needs_reason(scope: AccessScope, touched: set[str]) -> bool:
    """People changing production say why; a pipeline (API key) reporting an outcome does not."""
    return PRODUCTION in touched and not scope.is_api


def _check_reason(scope: AccessScope, touched: set[str], reason: str) -> None:
    if _needs_reason(scope, touched) and not reason:
        raise ValidationFailed(
            "Changes to production need a reason: it goes to the audit trail and the deployment history. "
            "Nothing was changed.",
            {"reason": "Say why production changes (at least a few words)."},
        )


def _check_environments(scope: AccessScope, touched: set[str], to: str) -> None:
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
    model = get_model(scope, model_id, consistent=True)
    version = get_version(model, version_id)
    environment = environment or None
    reason = _clean_reason(reason)
    lifecycle.check_move(version, to, environment, model)
    touched = lifecycle.environments_touched(version, to, environment, model)
    _check_environments(scope, touched, to)
    if confirmed is False and needs_confirmation(version, to, touched):
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
        previous = get_version(model, live) if to == DEPLOYED and live and live != version.version else None
        change = lifecycle.finish_deployment(
            model, version, to, previous=previous, by=by, at=now, reason=reason
        )
    elif to == ROLLED_BACK:
        where = environment or version.environment
        restore = _restore_candidate(model, version, where)
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


def _restore_candidate(
    model: MlModel, live: RegistryVersion, environment: str | None
) -> RegistryVersion | None:
    """The version `live` replaced in that environment, if it still exists."""
    for entry in reversed(live.deployments or []):
        if entry.environment == environment and entry.outcome == DEPLOYED:
            previous = entry.previous
            if not previous:
                return None
            try:
                return get_version(model, previous)
            except NotFound:
                return None
    return None


@dataclass
class Plan:
    """What a move will change, said before it is made (the confirmation step of the pages)."""

    model: MlModel
    version: RegistryVersion
    to: str
    environment: str | None
    title: str
    summary: list[str]
    needs_reason: bool
    button: str


def needs_confirmation(version: RegistryVersion, to: str, touched: set[str]) -> bool:
    """Promote, roll back, retire, and anything that touches production ask first on the pages."""
    promote = to == DEPLOYING and version.status == DEPLOYED
    return promote or to in (ROLLED_BACK, RETIRED) or PRODUCTION in touched


def _audience(model: MlModel) -> str:
    """“N people of tenant T”: who a production change reaches (one Select=COUNT query)."""
    count = account_queries.count_users(model.tenant_id)
    try:
        name = account_queries.get_tenant(model.tenant_id).name
    except NotFound:
        name = model.tenant_id
    return f"{count} {'person' if count == 1 else 'people'} of tenant {name}"


def plan_change(
    scope: AccessScope, model_id: str, version_id: str, to: str, environment: str | None = None
) -> Plan:
    """The same checks as `change_status`, and what the move would change, without writing anything.

    DynamoDB: 2 GetItem (model, version), at most 1 more (the version a roll back restores), and
    for production 1 GetItem (the tenant) and 1 Select=COUNT query (its people).
    """
    model = get_model(scope, model_id, consistent=True)
    version = get_version(model, version_id)
    environment = environment or None
    lifecycle.check_move(version, to, environment)
    touched = lifecycle.environments_touched(version, to, environment, model)
    _check_environments(scope, touched, to)
    envs = model.environments
    name, number = model.name, version.version
    summary: list[str] = []
    if to == DEPLOYING:
        live = envs[environment].live
        if version.status == DEPLOYED:
            title, button = f"Promote {name} {number} from {version.environment} to {environment}?", "Promote"
            if lifecycle.keeps_source(version, environment, vacate=False):
                summary.append(
                    f"Version {number} is deployed to {environment} and stays live in {version.environment} "
                    f"unless you tick “take it out of {version.environment}” below."
                )
            else:
                summary.append(
                    f"Version {number} leaves {version.environment} and is deployed to {environment}."
                )
        else:
            title, button = f"Deploy {name} {number} to {environment}?", "Deploy"
        if live:
            summary.append(f"When it is live, version {number} replaces version {live} in {environment}.")
        else:
            summary.append(f"Nothing is live in {environment} now: version {number} will be the first.")
    elif to in (DEPLOYED, FAILED):
        stage = version.stage
        live = envs[stage].live if stage else None
        if to == DEPLOYED:
            title, button = f"Mark {name} {number} deployed in {stage}?", "Mark deployed"
            if live and live != number:
                summary.append(f"Version {number} replaces version {live} in {stage}.")
            else:
                summary.append(f"Version {number} goes live in {stage}.")
        else:
            title, button = f"Mark the deployment of {name} {number} to {stage} failed?", "Mark failed"
            summary.append(f"{stage.capitalize()} keeps {'version ' + live if live else 'nothing'} live.")
    elif to == ROLLED_BACK:
        where = environment or version.environment
        title, button = f"Roll back {name} {number} in {where}?", "Roll back"
        restore = _restore_candidate(model, version, where)
        if restore is not None and restore.status == SUPERSEDED:
            summary.append(f"Version {restore.version} replaces version {number} in {where} again.")
        else:
            summary.append(f"No earlier version can be restored: {where} will have nothing live.")
    else:
        title, button = f"Retire {name} {number}?", "Retire"
        for env in lifecycle.live_in(model, version):
            summary.append(f"Version {number} is taken out of {env}, which then has nothing live.")
        summary.append("A retired version cannot be deployed again.")
    if PRODUCTION in touched:
        summary.append(f"This changes production for {_audience(model)}.")
    return Plan(model, version, to, environment, title, summary, _needs_reason(scope, touched), button)


def stalled_after() -> timedelta:
    return timedelta(minutes=settings.REGISTRY_STALLED_AFTER_MINUTES)


def stalled_environments(model: MlModel, now: datetime | None = None) -> set[str]:
    """Environments whose deployment has been `deploying` longer than REGISTRY_STALLED_AFTER_MINUTES.

    Deployments started before `pending_since` was recorded count from the model's last change.
    """
    now = now or clock.now()
    stalled = set()
    for env, state in lifecycle.environments_of(model).items():
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
        for env, state in lifecycle.environments_of(model).items():
            state.stalled = env in stalled


def deploy_options(scope: AccessScope) -> tuple[str, ...]:
    """Environments the scope may deploy to (a display hint; change_status enforces it)."""
    if scope.is_staff:
        return lifecycle.ENVIRONMENTS
    return tuple(env for env in lifecycle.ENVIRONMENTS if env != PRODUCTION)


def version_actions(
    scope: AccessScope, version: RegistryVersion, model: MlModel | None = None
) -> dict[str, Any]:
    """What the detail page offers for a version; the service still checks each request.

    `deploy_to` are one-click deployments; `confirm_deploy_to` (promotions, production) and roll back,
    retire and finishing a production deployment go through the confirmation step (`ask_*`). A
    promotion into production keeps the version where it is unless the person asks (the
    confirmation offers “take it out of …”). A live version is only offered the next environment;
    `needs_staff` says why not when production is the next (or current) step: only staff change it.
    """
    allowed = lifecycle.MOVES.get(version.status, ())
    live = set(lifecycle.live_in(model, version)) if model is not None else {version.environment}
    live.discard(None)
    may_touch_current = scope.is_staff or (PRODUCTION not in live and version.environment != PRODUCTION)
    promote = version.status == DEPLOYED
    # A live version is promoted one step forward (dev → staging → production), never backwards.
    following = lifecycle.promotion_target(live) if promote else None
    if promote:
        targets = [env for env in deploy_options(scope) if env == following]
    else:
        targets = list(deploy_options(scope))
    if not (DEPLOYING in allowed and may_touch_current):
        targets = []
    # Tenant admins cannot move production: say so where that is the next (or the current) step.
    needs_staff = ""
    if not scope.is_staff and following == PRODUCTION:
        needs_staff = "Production changes need staff: ask Diatonic staff to promote it to production."
    elif not scope.is_staff and (
        PRODUCTION in live or (version.status == DEPLOYING and version.stage == PRODUCTION)
    ):
        needs_staff = "Production changes need staff: ask Diatonic staff to change production."
    asks = [env for env in targets if promote or env == PRODUCTION]
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
            for env, state in lifecycle.environments_of(model).items()
        )
        for model in models
    )


def latest_versions(scope: AccessScope, limit: int = 5) -> list[RegistryVersion]:
    """The scope's tenant's model versions, last changed first (one query): the home page's card."""
    scope.require(Can.TENANT_DATA)
    tenant_id = scope.require_tenant()
    return list(RegistryVersion.by_tenant.query(tenant_id, scan_index_forward=False, limit=limit))


# --- aliases --------------------------------------------------------------------------------------


@dataclass
class AliasMove:
    model: MlModel
    alias: str
    version: str
    previous: str | None
    message: str


def aliases_of(model: MlModel) -> dict[str, AliasEntry]:
    """The model's aliases by name, in name order: {"champion": AliasEntry(version, since, by)}."""
    return dict(sorted((model.aliases or {}).items()))


def resolve_alias(scope: AccessScope, model_id: str, alias: str) -> tuple[MlModel, RegistryVersion]:
    model = get_model(scope, model_id)
    entry = (model.aliases or {}).get(alias) if isinstance(alias, str) else None
    if not entry:
        raise NotFound(f"{model.name} has no alias “{alias}”.", {"alias": "unknown alias"})
    return model, get_version(model, entry.version)


def set_alias(scope: AccessScope, model_id: str, alias: str, version_id: str) -> AliasMove:
    """Point `alias` at a version (creating or moving it), audited, in one conditional transaction.

    The model item's `row_version` is the lock: two moves at the same moment are applied one after
    the other (the later one re-reads and records the version it moved the alias from), never mixed.
    """
    model = get_model(scope, model_id, consistent=True)  # another tenant's model: 404 before anything
    alias = inputs.clean_alias(alias)
    if not isinstance(version_id, str) or not version_id.strip():
        raise ValidationFailed("Choose the version the alias points to.", {"version": "required"})
    version = get_version(model, version_id.strip())
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
        state["model"] = get_model(scope, model_id, consistent=True)

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
    model = get_model(scope, model_id, consistent=True)
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
