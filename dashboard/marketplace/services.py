"""Marketplace state changes on agent templates: every rule, permission check and write lives here.

Each change reads the template, asks `moderation.transition` what the move changes, and saves those
changes with the keys they imply (listing, feeds, search tokens) and an audit event in one
transaction, conditioned on the edit version it was made from. Reads are in `queries`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from dashboard.accounts.queries import get_user
from dashboard.audit import services as audit
from dashboard.core import clock
from dashboard.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from dashboard.core.ids import new_id
from dashboard.core.scope import API, STAFF, AccessScope, Can
from dashboard.dynamo.item_size import check_item_size
from dashboard.dynamo.transactions import Builder, commit, with_retries
from dashboard.flows import definition as flow_definition
from dashboard.flows import inputs as flow_inputs
from dashboard.flows import queries as flow_queries
from dashboard.flows import services as flows
from dashboard.flows.definition import SecretInput
from dashboard.marketplace import queries
from dashboard.marketplace.inputs import MAX_FLOW_NAME, TEMPLATE_ID, TemplateInput, clean_input
from dashboard.marketplace.models import (
    PUBLIC_FEED,
    AgentTemplate,
    SearchToken,
    TemplateRating,
    public_name,
    tenant_feed,
)
from dashboard.marketplace.moderation import (
    APPROVED,
    ASKS_FIRST,
    BULK_ACTIONS,
    DRAFT,
    MODERATION_ACTIONS,
    OWN_TEMPLATE,
    can_moderate,
    is_author,
    transition,
)
from dashboard.marketplace.queries import get_editable, get_template
from dashboard.marketplace.search import template_tokens

# Concurrent raters of one template clash on its counters; each clash is one more try from a fresh read.
RATING_ATTEMPTS = 24
BUSY = "The template is very busy right now; nothing was saved. Try again in a moment."
STALE_EDIT = (
    "Someone else changed this template since you opened it. Nothing was overwritten: "
    "reload it to see their changes, then make yours again."
)
MODERATION_CHANGED = (
    "The template changed since you opened it (the author edited it or another moderator decided). "
    "Nothing was done: look at the current version and decide again."
)
# Stored attribute → the name clients use for it, so a size error names what they sent.
TEMPLATE_FIELD_NAMES = {"definition": "definition"}

if TYPE_CHECKING:
    from dashboard.flows.models import Flow


@dataclass
class TemplateUpdate:
    """The template a flow came from; `changes` is what its newer version changes (None: up to date)."""

    template: AgentTemplate
    changes: flow_definition.DefinitionDiff | None


# --- derived keys and search tokens ------------------------------------------------------------


def derived_keys(template: AgentTemplate) -> dict[str, Any]:
    """The GSI keys that follow from a template's state: where it is listed and browsed."""
    listed = template.moderation_status == APPROVED and template.visibility == "public"
    feed = PUBLIC_FEED if listed else tenant_feed(template.tenant_id)
    return {
        "listing": PUBLIC_FEED if listed else None,
        "feed": feed,
        "feed_category": f"{feed}#{template.category}",
        "featured_listing": "featured" if listed and template.featured else None,
    }


def token_keys(template: AgentTemplate) -> set[str]:
    words = template_tokens(template.name, template.description, template.tags or ())
    return {f"{derived_keys(template)['feed']}#{word}" for word in words}


def search_token(template: AgentTemplate, token: str) -> SearchToken:
    return SearchToken(
        token=token, template_id=template.template_id, tenant_id=template.tenant_id, listing=template.listing
    )


def _write_tokens(tx: TransactWrite, template: AgentTemplate, before: set[str], after: set[str]) -> None:
    for token in sorted(before - after):
        tx.delete(SearchToken(token=token, template_id=template.template_id))
    for token in sorted(after - before):
        tx.save(search_token(template, token))


def display_name(scope: AccessScope) -> str:
    """The name public templates show for the person acting (API keys show their own label)."""
    if scope.role == API:
        return scope.actor_label
    person = get_user(scope.actor_id)
    return person.name if person is not None and person.name else public_name(scope.actor_label)


# --- saving ------------------------------------------------------------------------------------


def _set_changes(template: AgentTemplate, changes: dict[str, Any]) -> tuple[list[Action], set[str], set[str]]:
    """Set `changes` and the keys they imply on the model; the update actions and the token sets."""
    before = token_keys(template)
    for name, value in changes.items():
        setattr(template, name, value)
    for name, value in derived_keys(template).items():
        if getattr(template, name) != value:
            changes[name] = value
            setattr(template, name, value)
    actions = []
    for name, value in changes.items():
        attribute = getattr(AgentTemplate, name)
        empty = value is None or (isinstance(value, set | frozenset) and not value)
        actions.append(attribute.remove() if empty else attribute.set(value))
    return actions, before, token_keys(template)


def _save_changes(
    scope: AccessScope,
    template: AgentTemplate,
    changes: dict[str, Any],
    action: str,
    audit_changes: dict[str, Any],
    conflict_message: str = STALE_EDIT,
) -> AgentTemplate:
    seen = int(template.version)
    on_seen_version = AgentTemplate.version == seen
    changes = {**changes, "updated_at": clock.now(), "version": seen + 1}
    actions, before, after = _set_changes(template, changes)
    check_item_size(template, field_names=TEMPLATE_FIELD_NAMES)
    event = audit.build_event(
        scope, action, "template", template.template_id, tenant_id=template.tenant_id, changes=audit_changes
    )

    def build(tx: TransactWrite) -> None:
        tx.update(template, list(actions), condition=on_seen_version)
        _write_tokens(tx, template, before, after)
        tx.save(event)

    commit(build, conflict_message, BUSY)
    return template


def _count(tx: TransactWrite, template_id: str, actions: list[Action]) -> None:
    """An update of counters only: no version condition and no version change, so counting never
    makes someone's open edit look stale, and concurrent counts never refuse each other."""
    tx.update(AgentTemplate(template_id=template_id), actions, condition=AgentTemplate.template_id.exists())


def _check_version(template: AgentTemplate, expected_version: int | None, message: str = STALE_EDIT) -> None:
    if expected_version is not None and int(template.version or 0) != int(expected_version):
        raise Conflict(message)


def _status_change(before: str, changes: dict[str, Any]) -> dict[str, str]:
    after = changes.get("moderation_status", before)
    return {"status": f"{before} → {after}"} if after != before else {}


# --- create, edit, delete ----------------------------------------------------------------------


def _kept_inputs(template: AgentTemplate, fields: TemplateInput) -> list[dict[str, Any]]:
    """The secrets an edit leaves out: those it strips now, plus earlier ones whose node is still there
    with the same type (an edited definition no longer holds the secret, so it cannot be found again)."""
    types = {node["id"]: node["type"] for node in fields.definition.get("nodes", [])}
    old_types = {node["id"]: node["type"] for node in (template.definition or {}).get("nodes", [])}
    found = [item.as_dict() for item in fields.inputs]
    seen = {(item["node_id"], item["path"]) for item in found}
    for item in template.inputs or []:
        key = (item["node_id"], item["path"])
        if key not in seen and types.get(item["node_id"]) == old_types.get(item["node_id"]) is not None:
            found.append(item)
            seen.add(key)
    return found


def create_template(scope: AccessScope, data: Mapping[str, Any]) -> AgentTemplate:
    scope.require(Can.TENANT_DATA)
    tenant_id = scope.require_tenant()
    fields = clean_input(data)
    now = clock.now()
    template = AgentTemplate(
        template_id=new_id("tpl"),
        tenant_id=tenant_id,
        name=fields.name,
        description=fields.description,
        category=fields.category,
        tags=set(fields.tags) or None,
        visibility=fields.visibility,
        definition=fields.definition,
        inputs=[item.as_dict() for item in fields.inputs] or None,
        setting_problems=flow_inputs.setting_problems(fields.definition, list(fields.inputs)) or None,
        author_id=scope.actor_id,
        author_name=display_name(scope),
        created_at=now,
        updated_at=now,
        usage_count=0,
        rating_sum=0,
        rating_count=0,
        rating_avg=0,
        version=1,
    )
    for name, value in transition(template, "create", by=template.author_name, at=now).items():
        setattr(template, name, value)
    for name, value in derived_keys(template).items():
        setattr(template, name, value)
    event = audit.build_event(
        scope,
        "template.create",
        "template",
        template.template_id,
        tenant_id=tenant_id,
        changes={"name": fields.name, "status": template.moderation_status},
    )

    check_item_size(template, field_names=TEMPLATE_FIELD_NAMES)

    def build(tx: TransactWrite) -> None:
        tx.save(template, condition=AgentTemplate.template_id.does_not_exist())
        _write_tokens(tx, template, set(), token_keys(template))
        tx.save(event)

    commit(build, "A template with that id exists already.", BUSY)
    return template


def update_template(
    scope: AccessScope, template_id: str, data: Mapping[str, Any], expected_version: int | None
) -> AgentTemplate:
    """Save an edit made from `expected_version`; refused with Conflict if someone saved in between."""
    template = get_editable(scope, template_id)
    if expected_version is None:
        raise ValidationFailed(
            "Send the version you edited so a concurrent change is never overwritten.",
            {"version": "Required: the `version` the template had when you read it."},
        )
    _check_version(template, expected_version)
    fields = clean_input(data)
    changes: dict[str, Any] = {
        "name": fields.name,
        "description": fields.description,
        "category": fields.category,
        "tags": set(fields.tags) or None,
        "visibility": fields.visibility,
        "definition": fields.definition,
        "inputs": _kept_inputs(template, fields) or None,
    }
    changes["setting_problems"] = (
        flow_inputs.setting_problems(
            fields.definition, [SecretInput.from_dict(i) for i in changes["inputs"] or []]
        )
        or None
    )
    changed = [
        name
        for name, value in changes.items()
        if name != "setting_problems"
        and (set(getattr(template, name) or ()) if name == "tags" else getattr(template, name))
        != (set(value or ()) if name == "tags" else value)
    ]
    old_status = template.moderation_status
    changes.update(
        transition(template, "edit", by=display_name(scope), at=clock.now(), visibility=fields.visibility)
    )
    audit_changes = {"fields": ", ".join(changed) or "none", "version": int(template.version) + 1}
    audit_changes.update(_status_change(old_status, changes))
    return _save_changes(scope, template, changes, "template.update", audit_changes)


def delete_template(scope: AccessScope, template_id: str, expected_version: int | None = None) -> None:
    template = get_editable(scope, template_id)
    _check_version(template, expected_version)
    event = audit.build_event(
        scope,
        "template.delete",
        "template",
        template_id,
        tenant_id=template.tenant_id,
        changes={"name": template.name},
    )
    tokens = token_keys(template)
    on_seen_version = AgentTemplate.version == int(template.version)

    def build(tx: TransactWrite) -> None:
        tx.delete(template, condition=on_seen_version)
        _write_tokens(tx, template, tokens, set())
        tx.save(event)

    commit(build, STALE_EDIT, BUSY)
    # Ratings of a deleted template are no longer reachable; clear them after the fact.
    with TemplateRating.batch_write() as batch:
        for rating in queries.ratings_of(template_id):
            batch.delete(rating)


# --- author's listing requests and moderators' decisions ---------------------------------------


def submit_for_review(
    scope: AccessScope, template_id: str, expected_version: int | None = None
) -> AgentTemplate:
    template = get_editable(scope, template_id)
    _check_version(template, expected_version)
    old_status = template.moderation_status
    changes = transition(template, "submit", by=display_name(scope), at=clock.now())
    return _save_changes(scope, template, changes, "template.submit", _status_change(old_status, changes))


def withdraw(scope: AccessScope, template_id: str, expected_version: int | None = None) -> AgentTemplate:
    template = get_editable(scope, template_id)
    _check_version(template, expected_version)
    old_status = template.moderation_status
    changes = transition(template, "withdraw", by=display_name(scope), at=clock.now())
    return _save_changes(scope, template, changes, "template.withdraw", _status_change(old_status, changes))


def moderate(
    scope: AccessScope,
    template_id: str,
    action: str,
    *,
    reason: str = "",
    expected_version: int | None = None,
    confirmed: bool | None = None,
) -> AgentTemplate:
    """A moderator's decision. It lands only on the version the moderator saw, and goes to the audit trail.

    Unpublishing asks first on the pages: `confirmed=False` (a POST without the confirmation step)
    refuses it and changes nothing.
    """
    if not can_moderate(scope):
        raise PermissionDenied("Only moderators and staff moderate templates.")
    if action not in MODERATION_ACTIONS:
        raise NotFound("That moderation action does not exist.")
    if action in ASKS_FIRST and confirmed is False:
        raise ValidationFailed(
            "Unpublishing needs confirming first: nothing was changed. Check what it changes and confirm.",
            {"confirmed": "Confirm on the confirmation step."},
        )
    template = get_template(scope, template_id, consistent=True)
    _check_version(template, expected_version, MODERATION_CHANGED)
    old_status = template.moderation_status
    changes = transition(template, action, by=display_name(scope), at=clock.now(), reason=reason)
    if action == "approve":
        # The version the approval saves (the save raises it by one): a later edit differs from it.
        changes["approved_snapshot"] = {**approved_snapshot(template), "version": int(template.version) + 1}
    audit_changes: dict[str, Any] = {"name": template.name, **_status_change(old_status, changes)}
    decided = changes["moderation_history"][-1]
    if decided.reason:
        audit_changes["reason"] = decided.reason
    return _save_changes(scope, template, changes, f"template.{action}", audit_changes, MODERATION_CHANGED)


PLATFORM = AccessScope(
    role=STAFF, actor_id="platform", actor_label="Diatonic (usage figures)", tenant_id=None
)


def return_for_review(template_id: str, reason: str) -> AgentTemplate | None:
    """A listed template back in the moderation queue, the platform's own move (SYSTEM_MOVES): its
    figures worsened sharply over a week (analytics' template summaries pass decides and writes the
    reason). The author reads the reason in the template's moderation history, moderators in the queue
    and the audit trail. None when it is no longer listed (nothing to do)."""
    try:
        template = get_template(PLATFORM, template_id, consistent=True)
    except NotFound:
        return None
    if template.moderation_status != APPROVED:
        return None
    changes = transition(template, "return", by=PLATFORM.actor_label, at=clock.now(), reason=reason)
    audit_changes = {
        "name": template.name,
        **_status_change(template.moderation_status, changes),
        "reason": reason,
    }
    return _save_changes(PLATFORM, template, changes, "template.return", audit_changes, MODERATION_CHANGED)


MAX_BULK = 25  # one queue page


@dataclass
class BulkOutcome:
    decided: list[AgentTemplate] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (template name or id, why)


def moderate_many(
    scope: AccessScope, picks: list[tuple[str, int | None]], action: str, *, reason: str = ""
) -> BulkOutcome:
    """One decision (approve or reject, with one reason) on several templates of the queue.

    Each template is decided in its own transaction on the version the moderator saw, so one that
    changed meanwhile is refused (and named) without holding back the others. DynamoDB per template:
    1 GetItem (consistent), 1 GetItem (the moderator's name), 1 TransactWriteItems; at most MAX_BULK.
    """
    if not can_moderate(scope):
        raise PermissionDenied("Only moderators and staff moderate templates.")
    if action not in BULK_ACTIONS:
        raise ValidationFailed("Approve or reject the selected templates.", {"action": "approve or reject"})
    if not picks:
        raise ValidationFailed(
            "Select the templates to decide first: nothing was changed.", {"template": "Select at least one."}
        )
    if len(picks) > MAX_BULK:
        raise ValidationFailed(
            f"Decide at most {MAX_BULK} templates at once: nothing was changed.",
            {"template": f"At most {MAX_BULK}."},
        )
    if action == "reject" and not (reason or "").strip():
        raise ValidationFailed(
            "Say why they are rejected (pick a reason or write one): nothing was changed.",
            {"reason": "A reason is required."},
        )
    outcome = BulkOutcome()
    for template_id, version in picks:
        try:
            outcome.decided.append(
                moderate(scope, template_id, action, reason=reason, expected_version=version)
            )
        except (Conflict, NotFound, ValidationFailed) as exc:
            outcome.refused.append((template_id, exc.message))
    return outcome


def approved_snapshot(template: AgentTemplate) -> dict[str, Any]:
    return {
        "version": int(template.version),
        "name": template.name,
        "description": template.description,
        "category": template.category,
        "tags": template.tag_list,
        "definition": template.definition,
    }


# --- use ---------------------------------------------------------------------------------------


def secret_inputs(template: AgentTemplate) -> list[SecretInput]:
    return [SecretInput.from_dict(item) for item in template.inputs or []]


def _filled_configs(template: AgentTemplate, values: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Each configured node's settings with the user's secrets in; ValidationFailed names each gap."""
    errors: dict[str, str] = {}
    inputs = secret_inputs(template)
    configs: dict[str, dict[str, Any]] = {}
    for node in template.definition["nodes"]:
        mine = [item for item in inputs if item.node_id == node["id"]]
        if node.get("config") or mine:
            configs[node["id"]] = flow_definition.fill_inputs(
                node.get("config") or {}, mine, dict(values), errors
            )
    if not errors:
        flow_inputs.check_node_settings(template.definition, configs, errors)
    if errors:
        raise ValidationFailed("Supply the settings marked below; no flow was created.", errors)
    return configs


def use_template(
    scope: AccessScope,
    template_id: str,
    project_id: str,
    flow_name: str = "",
    inputs: Mapping[str, str] | None = None,
) -> Flow:
    """A new studio flow from the template with its node settings (the secrets it leaves out taken
    from `inputs`), in one transaction with the usage count and the audit event."""
    if not scope.can(Can.TENANT_DATA):
        raise PermissionDenied("Only a tenant's admins and staff can use templates.")
    template = get_template(scope, template_id)
    tenant_id = scope.require_tenant()
    project = None
    if project_id and TEMPLATE_ID.match(project_id):
        try:
            project = flow_queries.get_project(scope, project_id)
        except NotFound:
            project = None
    if project is None or project.tenant_id != tenant_id:
        raise ValidationFailed(
            "Choose a project of your tenant for the new flow.", {"project_id": "Unknown project."}
        )
    name = (flow_name or "").strip() or template.name
    if len(name) > MAX_FLOW_NAME:
        raise ValidationFailed("The flow name is too long.", {"name": f"At most {MAX_FLOW_NAME} characters."})
    configs = _filled_configs(template, inputs or {})
    flow_definition.check_copy_size(template.definition)
    items = flows.flow_items(
        scope,
        project,
        name,
        template.definition,
        f"Created from template “{template.name}” (version {int(template.version)})",
        description=template.description[:500],
        source_template_id=template.template_id,
        source_template_version=int(template.version),
        configs=configs,
    )
    for config in items.configs:
        check_item_size(config)
    event = audit.build_event(
        scope,
        "template.use",
        "template",
        template.template_id,
        tenant_id=tenant_id,
        changes={"flow_id": items.flow.flow_id, "project_id": project.project_id, "template": template.name},
    )

    def build(tx: TransactWrite) -> None:
        for item in items:
            tx.save(item)
        _count(tx, template.template_id, [AgentTemplate.usage_count.add(1)])
        tx.save(event)

    commit(build, "The template was deleted meanwhile; no flow was created.", BUSY)
    return items.flow


# --- templates from flows, and their newer versions offered to the flows made from them ---------


def template_from_flow(scope: AccessScope, flow_id: str, data: Mapping[str, Any]) -> AgentTemplate:
    """A template of the flow's graph and node settings, stored secrets left out and listed as inputs.

    It is created like any other: private, or sent to moderation when the author asks for public.
    """
    flow = flow_queries.get_flow(scope, flow_id)
    # With its secrets: the template's input cleaning strips them and lists them as inputs, as for any
    # definition a template is given.
    definition = flow_queries.flow_definition(scope, flow)
    flow_definition.check_copy_size(definition)
    return create_template(scope, {**data, "definition": definition})


def restrip_template(scope: AccessScope, template_id: str) -> list[str]:
    """Strip the secrets today's detection finds in a stored template (its definition and the approved
    snapshot a moderator compares with) into required inputs, audited as `template.rescan`.

    Returns the settings it took out ("n3.api_key"); [] when the template is clean (nothing written, so
    running it again changes nothing). The edit version rises, so the change lands only on the version read.
    """
    for _attempt in range(3):
        template = queries.find_template(template_id)
        if template is None:
            return []
        definition, found = flow_definition.strip_secrets(template.definition or {"nodes": [], "edges": []})
        snapshot = copy.deepcopy(template.approved_snapshot) if template.approved_snapshot else None
        snapshot_found: list[SecretInput] = []
        if snapshot and isinstance(snapshot.get("definition"), dict):
            snapshot["definition"], snapshot_found = flow_definition.strip_secrets(snapshot["definition"])
        if not found and not snapshot_found:
            return []
        inputs = list(template.inputs or [])
        known = {(item["node_id"], item["path"]) for item in inputs}
        for item in found:
            if (item.node_id, item.path) not in known:
                inputs.append(item.as_dict())
                known.add((item.node_id, item.path))
        seen = int(template.version)
        if snapshot and int(snapshot.get("version", 0)) == seen:
            snapshot["version"] = seen + 1  # still the approved version: the re-strip is no author's change
        taken = [f"{item.node_id}.{item.path}" for item in found] or [
            f"approved snapshot {item.node_id}.{item.path}" for item in snapshot_found
        ]
        changes: dict[str, Any] = {
            "definition": definition,
            "inputs": inputs or None,
            "setting_problems": flow_inputs.setting_problems(
                definition, [SecretInput.from_dict(i) for i in inputs]
            )
            or None,
        }
        if snapshot is not None:
            changes["approved_snapshot"] = snapshot
        try:
            _save_changes(scope, template, changes, "template.rescan", {"secrets_removed": ", ".join(taken)})
        except Conflict:
            continue  # changed meanwhile: read it again
        return taken
    raise Conflict(f"Template {template_id} kept changing; run the rescan again.")


UPDATABLE = (APPROVED,)


def update_for_flow(scope: AccessScope, flow: Flow) -> TemplateUpdate | None:
    """The newer version of the template `flow` came from, with what changed, if one may be applied.

    Offered when the template's edit version is past the flow's and the template is approved (or a
    private draft of the flow's own tenant, which needs no review). Two reads: template, snapshot.
    """
    if not flow.source_template_id:
        return None
    try:
        template = get_template(scope, flow.source_template_id)
    except NotFound:
        return None  # deleted, or no longer visible to this tenant
    own_draft = template.tenant_id == flow.tenant_id and template.moderation_status == DRAFT
    if template.moderation_status not in UPDATABLE and not own_draft:
        return TemplateUpdate(template, None)
    if int(template.version) <= int(flow.source_template_version or 0):
        return TemplateUpdate(template, None)
    base = flow_queries.base_definition(flow) or {"nodes": [], "edges": []}
    changes = flow_definition.diff(base, template.definition)
    return TemplateUpdate(template, changes if changes else None)


def apply_update(
    scope: AccessScope,
    flow_id: str,
    *,
    template_version: int,
    flow_version: int,
    values: Mapping[str, str],
    take_template_settings: bool,
) -> Flow:
    flow = flow_queries.get_flow(scope, flow_id)
    update = update_for_flow(scope, flow)
    if update is None or update.changes is None:
        raise Conflict("There is no newer template version to apply to this flow.")
    if int(update.template.version) != int(template_version):
        raise Conflict(
            "The template changed again since you looked; nothing was applied. Review its newest version."
        )
    template = update.template
    return flows.apply_template(
        scope,
        flow_id,
        expected_version=flow_version,
        definition=template.definition,
        inputs=secret_inputs(template),
        values=dict(values),
        take_template_settings=take_template_settings,
        template_version=int(template.version),
        note=f"Updated to template “{template.name}” version {int(template.version)}",
    )


# --- ratings -----------------------------------------------------------------------------------


def rate_template(scope: AccessScope, template_id: str, stars: Any) -> AgentTemplate:
    """One rating per person; a new one replaces theirs. Sum and count move together, atomically."""
    if not scope.can(Can.RATE):
        raise PermissionDenied("Only tenant admins and staff rate templates.")
    try:
        stars = int(stars)
    except (TypeError, ValueError):
        stars = 0
    if not 1 <= stars <= 5:
        raise ValidationFailed("Give 1 to 5 stars.", {"stars": "Choose 1 to 5 stars."})
    if is_author(scope, get_template(scope, template_id)):
        raise PermissionDenied(OWN_TEMPLATE)

    def prepare() -> Builder | None:
        previous = queries.rating_by(template_id, scope.actor_id)
        if previous is not None and int(previous.stars) == stars:
            return None  # already so: no write, no event
        rating = TemplateRating(
            template_id=template_id, user_id=scope.actor_id, stars=stars, rated_at=clock.now()
        )
        if previous is None:
            condition = TemplateRating.user_id.does_not_exist()
            actions = [AgentTemplate.rating_sum.add(stars), AgentTemplate.rating_count.add(1)]
            change = str(stars)
        else:
            # Conditioned on the stars read above: a concurrent change of the same rating tries again.
            condition = TemplateRating.stars == previous.stars
            actions = [AgentTemplate.rating_sum.add(stars - int(previous.stars))]
            change = f"{int(previous.stars)} → {stars}"
        # The rater's tenant owns the event: it is their admin's action, whoever owns the template.
        event = audit.build_event(scope, "template.rate", "template", template_id, changes={"stars": change})

        def build(tx: TransactWrite) -> None:
            tx.save(rating, condition=condition)
            _count(tx, template_id, list(actions))
            tx.save(event)

        return build

    def read_again() -> None:
        # The rating changed under us (try again from a fresh read), or the template is gone (404).
        get_template(scope, template_id, consistent=True)

    with_retries(
        prepare,
        on_conflict=read_again,
        attempts=RATING_ATTEMPTS,
        busy_message="Your rating changed several times at once; nothing more was saved. Try again.",
    )
    return refresh_rating_average(template_id)


def refresh_rating_average(template_id: str) -> AgentTemplate:
    """Copy sum/count into `rating_avg`, the sort key of the rating GSIs.

    Conditioned on the sum and count it was computed from: when a newer rating landed meanwhile, its
    own refresh writes the newer average, so the last refresh always reflects the final counts.
    """
    template = queries.find_template(template_id)
    if template is None:  # deleted while the rating was saved
        raise NotFound("That template was deleted meanwhile.")
    average = round(template.rating_sum / template.rating_count, 4) if template.rating_count else 0
    if float(template.rating_avg or 0) != float(average):
        try:
            template.update(
                actions=[AgentTemplate.rating_avg.set(average)],
                condition=(AgentTemplate.rating_sum == template.rating_sum)
                & (AgentTemplate.rating_count == template.rating_count),
            )
        except UpdateError as exc:  # a newer rating won the race; its refresh writes the average
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
    return template
