"""The registry's operations: every read, rule, permission check and write lives here once."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import DoesNotExist

from dashboard.accounts import audit
from dashboard.accounts.scope import AccessScope, Can
from dashboard.accounts.tenancy import MAX_KEY_LENGTH, get_in_scope
from dashboard.core import clock
from dashboard.core.errors import NotFound, PermissionDenied, ValidationFailed
from dashboard.core.ids import new_id
from dashboard.dynamo.item_size import check_item_size
from dashboard.dynamo.paging import Page, paginate
from dashboard.dynamo.transactions import save_together
from dashboard.flows import services as flows

if TYPE_CHECKING:
    from dashboard.flows.models import Project
from dashboard.registry import inputs, lifecycle, versions
from dashboard.registry.lifecycle import DEPLOYED, DEPLOYING, FAILED, PRODUCTION, RETIRED, ROLLED_BACK
from dashboard.registry.models import Dataset, MlModel, RegistryVersion, dataset_key

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


def deployment_history(items: list[RegistryVersion]) -> list[HistoryRow]:
    """Who deployed what where and when, from which version, and how it ended; newest first."""
    rows = []
    for item in items:
        for entry in item.deployments or []:
            note = ""
            if entry.get("replaced_by"):
                note = f"replaced by {entry['replaced_by']}"
            elif entry.get("moved_to"):
                note = f"promoted to {entry['moved_to']}"
            elif entry.get("promoted_from"):
                note = f"promoted from {entry['promoted_from']}"
            rows.append(
                HistoryRow(
                    version=item.version,
                    environment=entry.get("environment"),
                    kind=entry.get("kind", "deploy"),
                    previous=entry.get("from"),
                    by=entry.get("by", ""),
                    at=entry.get("at", ""),
                    outcome=entry.get("outcome", ""),
                    finished_at=entry.get("finished_at"),
                    ended_at=entry.get("ended_at"),
                    note=note,
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
        changes={"model": model.name, "version": version.version},
    )
    save_together([model, version, event], MODEL_CHANGED)
    return version


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
        changes={"name": model.name, "project": project.name, "version": version.version},
    )
    save_together([model, version, event], MODEL_CHANGED)
    return model, version


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
    scope: AccessScope, model_id: str, version_id: str, to: str, environment: str | None = None
) -> StatusChange:
    """Move one version through the state machine; everything it changes lands in one transaction."""
    model = get_model(scope, model_id, consistent=True)
    version = get_version(model, version_id)
    environment = environment or None
    lifecycle.check_move(version, to, environment)
    _check_environments(scope, lifecycle.environments_touched(version, to, environment, model), to)
    now = clock.now()
    by = scope.actor_label
    if to == DEPLOYING:
        change = lifecycle.begin_deployment(model, version, environment, by=by, at=now)
    elif to in (DEPLOYED, FAILED):
        live = model.environments[version.stage]["live"] if version.stage else None
        previous = get_version(model, live) if to == DEPLOYED and live and live != version.version else None
        change = lifecycle.finish_deployment(model, version, to, previous=previous, by=by, at=now)
    elif to == ROLLED_BACK:
        restore = _restore_candidate(model, version)
        change = lifecycle.roll_back(model, version, restore=restore, by=by, at=now)
    else:
        change = lifecycle.retire(model, version, by=by, at=now)
    event = audit.build_event(
        scope,
        change.action,
        "model_version",
        f"{model.model_id}@{version.version}",
        tenant_id=model.tenant_id,
        changes={"model": model.name, "version": version.version, **change.changes},
    )
    save_together([*change.items, event], MODEL_CHANGED)
    return StatusChange(model, version, change.message)


def _restore_candidate(model: MlModel, live: RegistryVersion) -> RegistryVersion | None:
    """The version `live` replaced in its environment, if it still exists."""
    for entry in reversed(live.deployments or []):
        if entry.get("environment") == live.environment and entry.get("outcome") == DEPLOYED:
            previous = entry.get("from")
            if not previous:
                return None
            try:
                return get_version(model, previous)
            except NotFound:
                return None
    return None


def deploy_options(scope: AccessScope) -> tuple[str, ...]:
    """Environments the scope may deploy to (a display hint; change_status enforces it)."""
    if scope.is_staff:
        return lifecycle.ENVIRONMENTS
    return tuple(env for env in lifecycle.ENVIRONMENTS if env != PRODUCTION)


def version_actions(scope: AccessScope, version: RegistryVersion) -> dict[str, Any]:
    """What the detail page offers for a version; the service still checks each request."""
    allowed = lifecycle.MOVES.get(version.status, ())
    may_touch_current = scope.is_staff or version.environment != PRODUCTION
    targets = [
        env
        for env in deploy_options(scope)
        if not (version.status == DEPLOYED and env == version.environment)
    ]
    return {
        "deploy_to": targets if DEPLOYING in allowed and may_touch_current else [],
        "finish": DEPLOYED in allowed and (scope.is_staff or version.stage != PRODUCTION),
        "roll_back": ROLLED_BACK in allowed and may_touch_current,
        "retire": RETIRED in allowed and may_touch_current,
    }


def any_in_progress(models: list[MlModel]) -> bool:
    return any(model.status == DEPLOYING for model in models)


def latest_versions(scope: AccessScope, limit: int = 5) -> list[RegistryVersion]:
    """The scope's tenant's model versions, last changed first (one query): the home page's card."""
    scope.require(Can.TENANT_DATA)
    tenant_id = scope.require_tenant()
    return list(RegistryVersion.by_tenant.query(tenant_id, scan_index_forward=False, limit=limit))
