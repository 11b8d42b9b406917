"""The registry's reads: each access pattern of models, versions, datasets and lineage as a named
function (key and GSI queries only, never a scan), and the read models the pages show (deployment
history, metric series, comparisons, what a move would change). Pages and other areas read the
registry here; they never import registry.models."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import DoesNotExist

from dashboard.accounts import queries as account_queries
from dashboard.accounts.queries import MAX_KEY_LENGTH, get_in_scope
from dashboard.alerts import events as alert_events
from dashboard.analytics import pricing
from dashboard.analytics import queries as analytics
from dashboard.analytics.queries import model_usage
from dashboard.core import clock
from dashboard.core.errors import NotFound, PermissionDenied, ValidationFailed
from dashboard.core.money import money
from dashboard.core.scope import AccessScope, Can
from dashboard.dynamo.paging import BadCursor, Page, decode_cursor, encode_cursor, paginate, read_bounded
from dashboard.experiments import queries as experiments
from dashboard.flows import queries as flows
from dashboard.registry import approvals, lifecycle, version_numbers
from dashboard.registry.lifecycle import (
    DEPLOYED,
    DEPLOYING,
    FAILED,
    PRODUCTION,
    RETIRED,
    ROLLED_BACK,
    SUPERSEDED,
)
from dashboard.registry.models import (
    AliasEntry,
    ChangeRequest,
    Dataset,
    MlModel,
    RegistryPolicy,
    RegistryVersion,
    dataset_key,
)

if TYPE_CHECKING:
    from dashboard.flows.models import Project

PAGE_SIZE = 25
MAX_VERSIONS = 500  # a detail page reads at most this many versions (one or two Query calls)
MAX_PROJECTS = 100
LIST_STATUSES = (DEPLOYING, DEPLOYED, FAILED, "registered", ROLLED_BACK, RETIRED)
DATASETS_PER_PROJECT = 50
# The datasets page makes one query per project, so it groups fewer projects than the forms offer.
DATASET_PAGE_PROJECTS = 50
MAX_LINEAGE = 50  # versions listed on a run's page: one Query on the sparse run index


# --- models and versions ----------------------------------------------------------------------------


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
    return version_numbers.newest_first(items, key=lambda item: item.version)


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


@dataclass
class TimelineRow:
    """One stretch of time a version served in an environment: from when, until when (None: still
    live), who started it (and who approved it, for a protected change), why, and how it ended."""

    version: str
    environment: str
    live_from: str
    live_until: str | None
    started_by: str
    approved_by: str
    finished_by: str
    reason: str
    ended: str
    ended_by: str
    request_id: str
    model_id: str = ""
    model_name: str = ""


TIMELINE_CSV_HEADER = (
    "environment",
    "version",
    "live_from",
    "live_until",
    "started_by",
    "approved_by",
    "marked_live_by",
    "reason",
    "how_it_ended",
    "ended_by",
    "change_request",
)


def environment_timeline(items: list[RegistryVersion], environment: str) -> list[TimelineRow]:
    """When was what live in `environment`, newest first, from the versions' deployment history
    (a deployment's row is live from when it finished until it ended; a rollback's restore at once)."""
    rows = []
    for item in items:
        for entry in item.deployments or []:
            if entry.environment != environment or entry.outcome not in (DEPLOYED, ROLLED_BACK):
                continue
            if entry.replaced_by:
                ended = f"replaced by {entry.replaced_by}"
            elif entry.moved_to:
                ended = f"promoted to {entry.moved_to}"
            elif entry.outcome == ROLLED_BACK:
                ended = "rolled back" + (f": {entry.rollback_reason}" if entry.rollback_reason else "")
            elif entry.ended_at:
                ended = "taken out (retired)"
            else:
                ended = ""
            rows.append(
                TimelineRow(
                    version=item.version,
                    environment=environment,
                    live_from=entry.finished_at or entry.at or "",
                    live_until=entry.ended_at,
                    started_by=entry.by or "",
                    approved_by=entry.approved_by or "",
                    finished_by=entry.finished_by or "",
                    reason=" · ".join(why for why in (entry.reason, entry.finish_reason) if why),
                    ended=ended,
                    ended_by=entry.ended_by or "",
                    request_id=entry.request_id or "",
                    model_id=item.model_id,
                    model_name=item.model_name,
                )
            )
    return sorted(rows, key=lambda row: row.live_from, reverse=True)


def timeline_csv_rows(rows: list[TimelineRow]) -> list[tuple[str, ...]]:
    return [TIMELINE_CSV_HEADER] + [
        (
            row.environment,
            row.version,
            row.live_from,
            row.live_until or "",
            row.started_by,
            row.approved_by,
            row.finished_by,
            row.reason,
            row.ended,
            row.ended_by,
            row.request_id,
        )
        for row in rows
    ]


TENANT_TIMELINE_VERSIONS = 500  # the tenant's most recently changed versions a timeline reads
TENANT_TIMELINE_CALLS = 5  # … in at most this many Query calls of 100 versions each


@dataclass
class TenantTimeline:
    """One page of the tenant's timeline of an environment, all models, newest stretch first."""

    rows: list[TimelineRow]
    next_cursor: str | None
    truncated: bool  # the tenant has more versions than were read: the oldest stretches may be missing


def _timeline_key(row: TimelineRow) -> tuple[str, str, str]:
    return (row.live_from, row.model_id, row.version)


def tenant_timeline_rows(scope: AccessScope, environment: str) -> tuple[list[TimelineRow], bool]:
    """Every stretch a version of any of the tenant's models served in `environment`, newest first,
    and whether the read stopped at its bound. DynamoDB: the tenant's versions on the tenant index,
    most recently changed first (a stretch's start or end changes its version), at most 500 versions
    in at most 5 Query calls; never a scan."""
    scope.require(Can.TENANT_DATA)
    tenant_id = scope.require_tenant()
    items, _keys, more = read_bounded(
        partial(RegistryVersion.by_tenant.query, tenant_id),
        RegistryVersion,
        limit=TENANT_TIMELINE_VERSIONS,
        max_calls=TENANT_TIMELINE_CALLS,
        page_size=TENANT_TIMELINE_VERSIONS // TENANT_TIMELINE_CALLS,
        scan_index_forward=False,
    )
    rows = environment_timeline(items, environment)
    return sorted(rows, key=_timeline_key, reverse=True), more is not None


def tenant_timeline(
    scope: AccessScope, environment: str, *, cursor: str | None = None, limit: int = PAGE_SIZE
) -> TenantTimeline:
    """A page of `tenant_timeline_rows`; the signed cursor holds the last row shown (its start, model
    and version), so the next page starts right after it. Same DynamoDB calls whatever the page."""
    purpose = f"timeline:{scope.tenant_id}:{environment}"
    after = decode_cursor(cursor, purpose)
    position = after.get("after") if isinstance(after, dict) else None
    if after is not None and not (
        isinstance(position, list) and len(position) == 3 and all(isinstance(p, str) for p in position)
    ):
        raise BadCursor("That page link is not valid any more; start again from the first page.")
    rows, truncated = tenant_timeline_rows(scope, environment)
    if position is not None:
        rows = [row for row in rows if _timeline_key(row) < tuple(position)]
    shown = rows[:limit]
    next_cursor = (
        encode_cursor({"after": list(_timeline_key(shown[-1]))}, purpose) if len(rows) > limit else None
    )
    return TenantTimeline(shown, next_cursor, truncated)


def tenant_timeline_csv_rows(rows: list[TimelineRow]) -> list[tuple[str, ...]]:
    """The per-model CSV's columns, with the model's name first."""
    header, *body = timeline_csv_rows(rows)
    return [("model", *header)] + [(row.model_name, *cells) for row, cells in zip(rows, body, strict=True)]


def metric_names(items: list[RegistryVersion]) -> list[str]:
    names: dict[str, None] = {}
    for item in version_numbers.oldest_first(items, key=lambda item: item.version):
        for name in item.metrics or {}:
            names.setdefault(name, None)
    return list(names)


def metric_series(items: list[RegistryVersion], metric: str) -> list[dict[str, Any]]:
    """One metric across versions, oldest version first; versions that do not report it are skipped."""
    return [
        {"version": item.version, "value": (item.metrics or {})[metric]}
        for item in version_numbers.oldest_first(items, key=lambda item: item.version)
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


def find_dataset(dataset_id: str) -> Dataset | None:
    """The dataset by id, whatever its tenant (the caller checks it belongs to the model's project)."""
    try:
        return Dataset.get(dataset_id)
    except DoesNotExist:
        return None


def has_version(model_id: str, version: str) -> bool:
    """Whether the model already has this version (a consistent read, so a version just registered counts)."""
    try:
        RegistryVersion.get(model_id, version, consistent_read=True)
    except DoesNotExist:
        return False
    return True


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


def latest_versions(scope: AccessScope, limit: int = 5) -> list[RegistryVersion]:
    """The scope's tenant's model versions, last changed first (one query): the home page's card."""
    scope.require(Can.TENANT_DATA)
    tenant_id = scope.require_tenant()
    return list(RegistryVersion.by_tenant.query(tenant_id, scan_index_forward=False, limit=limit))


# --- datasets and lineage -----------------------------------------------------------------------


def versions_trained_on(
    tenant_id: str, dataset_id: str, *, cursor: str | None = None, limit: int = 25
) -> Page[RegistryVersion]:
    """The tenant's model versions that name `dataset_id` as their training data (the sparse
    `dataset_id-index`, keyed `tenant#dataset`: one query a page, whatever the registry holds)."""
    query = partial(RegistryVersion.by_dataset.query, dataset_key(tenant_id, dataset_id))
    return paginate(query, purpose=f"registry:dataset:{tenant_id}:{dataset_id}", limit=limit, cursor=cursor)


def get_dataset(scope: AccessScope, dataset_id: str) -> Dataset:
    scope.require(Can.TENANT_DATA)
    return get_in_scope(scope, Dataset, dataset_id, what="That dataset")


def datasets_by_project(scope: AccessScope) -> list[tuple[Any, list[Dataset]]]:
    """(project, datasets) pairs: the scope's tenant's projects (most recently active first, capped), each with its newest datasets:
    one query for the projects and one per project."""
    scope.require(Can.TENANT_DATA)
    projects = flows.list_projects(scope, limit=DATASET_PAGE_PROJECTS).items
    grouped = []
    for project in sorted(projects, key=lambda project: project.name.lower()):
        datasets = Dataset.by_project.query(
            project.project_id, scan_index_forward=False, limit=DATASETS_PER_PROJECT
        )
        grouped.append((project, list(datasets)))
    return grouped


def versions_from_run(tenant_id: str, experiment_id: str, run_id: str) -> list[RegistryVersion]:
    """The model versions registered as produced by this run, newest first (one Query, no scan)."""
    return list(
        RegistryVersion.by_run.query(
            experiments.run_key(tenant_id, experiment_id, run_id), scan_index_forward=False, limit=MAX_LINEAGE
        )
    )


# --- what a move would change (the confirmation step) -------------------------------------------


def restore_candidate(
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
    held: list[str] = field(default_factory=list)  # protected targets: the move becomes a request
    expiry_hours: int = 0
    impact: dict[str, Any] | None = None  # the cost impact (`cost_impact`), when agents are served


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
    1 GetItem (the tenant's policy); for production 1 GetItem (the tenant) and 1 Select=COUNT
    query (its people); a deployment replacing a live version, or a roll back restoring an older
    one, also reads its cost impact (`cost_impact`: 1 GetItem and at most 12 Query calls).
    """
    model = get_model(scope, model_id, consistent=True)
    version = get_version(model, version_id)
    environment = environment or None
    lifecycle.check_move(version, to, environment)
    touched = lifecycle.environments_touched(version, to, environment, model)
    policy = policy_for(model.tenant_id)
    held = approvals.held_targets(policy, to=to, touched=touched)
    if held:
        approvals.check_may_request(policy, scope, held)
    else:
        lifecycle.check_environments(scope, touched, to)
    envs = model.environments
    name, number = model.name, version.version
    summary: list[str] = []
    rollback_impact: tuple[RegistryVersion, RegistryVersion] | None = None
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
        restore = restore_candidate(model, version, where)
        if restore is not None and restore.status == SUPERSEDED:
            summary.append(f"Version {restore.version} replaces version {number} in {where} again.")
            rollback_impact = (restore, version)
        else:
            summary.append(f"No earlier version can be restored: {where} will have nothing live.")
    else:
        title, button = f"Retire {name} {number}?", "Retire"
        for env in lifecycle.live_in(model, version):
            summary.append(f"Version {number} is taken out of {env}, which then has nothing live.")
        summary.append("A retired version cannot be deployed again.")
    if PRODUCTION in touched:
        summary.append(f"This changes production for {_audience(model)}.")
    if held:
        targets = ", ".join(approvals.target_label(t) for t in held)
        summary.append(
            f"{targets.capitalize()} is protected: this sends a change request; nothing changes until "
            "another person approves it."
        )
        button = f"Ask to {button.lower()}"
    hours = int(policy.expiry_hours or approvals.DEFAULT_EXPIRY_HOURS) if policy else 0
    impact = None
    if to == DEPLOYING and envs[environment].live:
        impact = cost_impact(scope, model, version, find_version(model, envs[environment].live))
    elif rollback_impact is not None:  # the older version serves again: re-priced the same way
        impact = cost_impact(scope, model, *rollback_impact)
    needs = bool(held) or lifecycle.needs_reason(scope, touched)
    return Plan(model, version, to, environment, title, summary, needs, button, held, hours, impact)


# --- aliases --------------------------------------------------------------------------------------


def aliases_of(model: MlModel) -> dict[str, AliasEntry]:
    """The model's aliases by name, in name order: {"champion": AliasEntry(version, since, by)}."""
    return dict(sorted((model.aliases or {}).items()))


def resolve_alias(scope: AccessScope, model_id: str, alias: str) -> tuple[MlModel, RegistryVersion]:
    model = get_model(scope, model_id)
    entry = (model.aliases or {}).get(alias) if isinstance(alias, str) else None
    if not entry:
        raise NotFound(f"{model.name} has no alias “{alias}”.", {"alias": "unknown alias"})
    return model, get_version(model, entry.version)


# --- governance: the tenant's policy and its change requests ------------------------------------


def policy_for(tenant_id: str) -> RegistryPolicy | None:
    """The tenant's registry policy (one GetItem, strongly consistent: it decides what is held);
    None when the tenant protects nothing."""
    try:
        return RegistryPolicy.get(tenant_id, consistent_read=True)
    except DoesNotExist:
        return None


def get_policy(scope: AccessScope) -> RegistryPolicy:
    """The policy of the scope's tenant, or an unsaved empty one."""
    scope.require(Can.TENANT_DATA)
    tenant_id = scope.require_tenant()
    return policy_for(tenant_id) or RegistryPolicy(tenant_id=tenant_id)


def get_request(scope: AccessScope, request_id: str, *, consistent: bool = True) -> ChangeRequest:
    """One change request of the scope's tenant (another tenant's id is not found)."""
    scope.require(Can.TENANT_DATA)
    tenant_id = scope.require_tenant()
    if not isinstance(request_id, str) or len(request_id) > MAX_KEY_LENGTH or not request_id:
        raise NotFound("That change request was not found.")
    try:
        return ChangeRequest.get(tenant_id, request_id, consistent_read=consistent)
    except DoesNotExist:
        raise NotFound("That change request was not found.") from None


def open_requests(
    scope: AccessScope, *, cursor: str | None = None, limit: int = PAGE_SIZE
) -> Page[ChangeRequest]:
    """The tenant's open requests, oldest first (first asked, first decided): one Query on the
    sparse open index. A request past its expiry is left out (a page may then hold fewer than
    `limit`): it stays in the index only until it is closed as expired, when next touched or by
    the background pass (`services.expire_requests`)."""
    scope.require(Can.TENANT_DATA)
    tenant_id = scope.require_tenant()
    page = paginate(
        partial(ChangeRequest.open_requests.query, tenant_id),
        purpose=f"requests:open:{tenant_id}",
        limit=limit,
        cursor=cursor,
    )
    return Page(approvals.still_open(page.items, clock.now()), page.next_cursor)


MAX_MODEL_REQUESTS = 50


def open_requests_for(model: MlModel) -> list[ChangeRequest]:
    """The model's requests still waiting for a decision (the model page), newest first: one Query
    on the tenant's sparse open index (its latest 50 open requests read), expired ones left out."""
    items = ChangeRequest.open_requests.query(
        model.tenant_id, scan_index_forward=False, limit=MAX_MODEL_REQUESTS, page_size=MAX_MODEL_REQUESTS
    )
    return [
        item for item in approvals.still_open(list(items), clock.now()) if item.model_id == model.model_id
    ]


EXPIRE_BATCH = 100


def tenant_ids() -> list[str]:
    """Every tenant's id (one Query), for the background pass."""
    return [tenant.tenant_id for tenant in account_queries.list_tenants()]


def expired_requests(tenant_id: str, now) -> list[ChangeRequest]:
    """Requests of the tenant still in the open index but past their expiry (the background pass
    closes them): one Query on the sparse open index, at most 100 items examined."""
    items = ChangeRequest.open_requests.query(tenant_id, limit=EXPIRE_BATCH, page_size=EXPIRE_BATCH)
    return [item for item in items if approvals.is_expired(item, now)]


def recent_requests(scope: AccessScope, limit: int = 20) -> list[ChangeRequest]:
    """The tenant's latest requests whatever their state, newest first (ULID keys): one Query."""
    scope.require(Can.TENANT_DATA)
    tenant_id = scope.require_tenant()
    return list(ChangeRequest.query(tenant_id, scan_index_forward=False, limit=limit, page_size=limit))


def find_version(model: MlModel, version: str | None) -> RegistryVersion | None:
    if not version:
        return None
    try:
        return get_version(model, version)
    except NotFound:
        return None


@dataclass
class MetricRow:
    name: str
    current: Any
    candidate: Any
    delta: float | None


def metrics_side_by_side(evidence: dict[str, Any] | None) -> list[MetricRow]:
    """The evidence's metrics of both versions, one row per metric name, with the change."""
    evidence = evidence or {}
    current = (evidence.get("current") or {}).get("metrics") or {}
    candidate = (evidence.get("candidate") or {}).get("metrics") or {}
    rows = []
    for name in sorted(set(current) | set(candidate)):
        a, b = current.get(name), candidate.get(name)
        delta = b - a if isinstance(a, int | float) and isinstance(b, int | float) else None
        rows.append(MetricRow(name, a, b, delta))
    return rows


# --- cost impact: what a change would cost before it is made --------------------------------------

IMPACT_DAYS = 30
IMPACT_AGENTS_SHOWN = 20


def served_model(model: MlModel, version: RegistryVersion) -> str:
    """The model name agents send when this version serves them: the version's `serving_model`
    parameter (a base or fine-tuned model's name, priced like any other), else the model's name."""
    named = (version.parameters or {}).get("serving_model") if isinstance(version.parameters, dict) else None
    return named.strip() if isinstance(named, str) and named.strip() else model.name


def _signed(amount: int) -> str:
    return ("+" if amount > 0 else "−" if amount < 0 else "") + money(abs(amount))


def cost_impact(
    scope: AccessScope, model: MlModel, candidate: RegistryVersion, current: RegistryVersion | None
) -> dict[str, Any] | None:
    """When the version the target holds now serves agents (its model name is in the tenant's
    executions of the last 30 days): those agents' token usage re-priced at the candidate's prices,
    the change per month and the month's new budget forecast. None when no agent used it.

    DynamoDB: the bounded export of `analytics.queries.model_usage` (at most 10 Query calls), the
    tenant (1 GetItem) and its budget rows (1 Query); prices come from analytics' cached copy.
    """
    if current is None or current.version == candidate.version:
        return None
    now = clock.now()
    current_name, candidate_name = served_model(model, current), served_model(model, candidate)
    used = model_usage.model_usage(scope, model.tenant_id, current_name, IMPACT_DAYS, now)
    if not used.agents:
        return None
    agents, unpriced = [], set()
    now_total = new_total = 0
    for agent in used.agents:
        was = pricing.quote(model.tenant_id, current_name, agent.usage, now)
        will = pricing.quote(model.tenant_id, candidate_name, agent.usage, now)
        unpriced.update(name for name, q in ((current_name, was), (candidate_name, will)) if not q.priced)
        now_total += was.cost_micro_usd
        new_total += will.cost_micro_usd
        agents.append(
            {
                "agent_id": agent.agent_id,
                "executions": agent.executions,
                "tokens_in": agent.usage.input,
                "tokens_out": agent.usage.output,
                "current_micro_usd": was.cost_micro_usd,
                "candidate_micro_usd": will.cost_micro_usd,
            }
        )
    change = new_total - now_total  # over 30 days: the change per month
    try:
        budget = account_queries.get_tenant(model.tenant_id).monthly_budget_micro_usd
    except NotFound:
        budget = None
    status = analytics.budget_status(model.tenant_id, int(budget) if budget else None, now)
    month_end = (now.replace(day=1) + timedelta(days=32)).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    )
    seconds_left = max(int((month_end - now).total_seconds()), 0)
    rest = round(change * seconds_left / (IMPACT_DAYS * 86_400))
    notes = []
    if used.truncated:
        notes.append(f"Only the latest {used.executions:,} executions were read.")
    if unpriced:
        notes.append(f"No price is known for {', '.join(sorted(unpriced))}: counted at $0.")
    return {
        "days": IMPACT_DAYS,
        "model_name": current_name,
        "candidate_model": candidate_name,
        "executions": used.executions,
        "agents": agents[:IMPACT_AGENTS_SHOWN],
        "agent_count": len(agents),
        "current_micro_usd": now_total,
        "candidate_micro_usd": new_total,
        "change_per_month_micro_usd": change,
        "forecast_micro_usd": status.forecast_micro_usd,
        "new_forecast_micro_usd": status.forecast_micro_usd + rest,
        "budget_micro_usd": status.budget_micro_usd,
        "current_usd": money(now_total),
        "candidate_usd": money(new_total),
        "change_per_month_usd": _signed(change),
        "forecast_usd": money(status.forecast_micro_usd),
        "new_forecast_usd": money(status.forecast_micro_usd + rest),
        "budget_usd": money(status.budget_micro_usd) if status.budget_micro_usd else None,
        "note": " ".join(notes),
    }


def has_event_channel(tenant_id: str) -> bool:
    """Whether registry events have somewhere to go (the tenant's webhook; alerts' channels)."""
    return alert_events.has_channel(tenant_id)
