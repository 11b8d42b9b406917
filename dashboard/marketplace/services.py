"""Marketplace operations on agent templates: every rule, permission check and write lives here.

States: a template starts as a `draft` (private to its tenant) or, when its author asks for public
listing, `pending` in the moderation queue. A moderator approves (then it is listed publicly) or
rejects it with a reason; a listed one can be featured or unpublished. Any change of a listed or
pending template sends it back to review, so nothing unreviewed is ever listed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist
from pynamodb.transactions import TransactWrite

from dashboard.accounts import audit
from dashboard.accounts.scope import API, AccessScope
from dashboard.accounts.services import get_user
from dashboard.core import clock
from dashboard.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from dashboard.core.ids import new_id
from dashboard.core.inputs import text_field
from dashboard.dynamo.item_size import check_item_size
from dashboard.flows.models import Flow, FlowEdge, FlowNode, FlowSnapshot, Project
from dashboard.marketplace import definition as flow_definition
from dashboard.marketplace.catalogue import (
    CATEGORIES,
    MAX_DESCRIPTION,
    MAX_NAME,
    MAX_REASON,
    MAX_TAGS,
    MODERATION_ACTIONS,
    VISIBILITIES,
)
from dashboard.marketplace.models import PUBLIC_FEED, AgentTemplate, SearchToken, TemplateRating, tenant_feed
from dashboard.marketplace.permissions import (
    OWNER_ROLES,
    RATER_ROLES,
    can_edit,
    can_moderate,
    can_view,
)
from dashboard.marketplace.search import template_tokens
from dashboard.marketplace.transactions import commit, update_counters

TEMPLATE_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
TAG = re.compile(r"^[a-z0-9][a-z0-9-]{0,23}$")
RATING_ATTEMPTS = 8
STALE_EDIT = (
    "Someone else changed this template since you opened it. Nothing was overwritten: "
    "reload it to see their changes, then make yours again."
)


@dataclass(frozen=True)
class TemplateInput:
    name: str
    description: str
    category: str
    tags: frozenset[str]
    visibility: str
    definition: dict[str, Any]


# --- reading -----------------------------------------------------------------------------------


def get_template(scope: AccessScope, template_id: str, *, consistent: bool = False) -> AgentTemplate:
    """The template, or NotFound when it does not exist or the scope may not see it (ids do not leak)."""
    if not TEMPLATE_ID.match(template_id or ""):
        raise NotFound("That template was not found.")
    try:
        template = AgentTemplate.get(template_id, consistent_read=consistent)
    except DoesNotExist:
        raise NotFound("That template was not found.") from None
    if not can_view(scope, template):
        raise NotFound("That template was not found.")
    return template


def get_editable(scope: AccessScope, template_id: str) -> AgentTemplate:
    template = get_template(scope, template_id, consistent=True)
    if not can_edit(scope, template):
        raise PermissionDenied("Only the template's own tenant can change it.")
    return template


def my_rating(scope: AccessScope, template_id: str) -> int | None:
    try:
        return int(TemplateRating.get(template_id, scope.actor_id).stars)
    except DoesNotExist:
        return None


def projects_for_use(scope: AccessScope) -> list[Project]:
    """The projects of the scope's tenant a template can be instantiated in (newest first)."""
    if scope.role not in OWNER_ROLES or scope.tenant_id is None:
        return []
    return list(Project.by_tenant.query(scope.tenant_id, scan_index_forward=False, limit=50))


# --- input -------------------------------------------------------------------------------------


def _tags(raw: Any) -> tuple[frozenset[str], str | None]:
    if raw is None or raw == "":
        return frozenset(), None
    if isinstance(raw, str):
        items = [part.strip().lower() for part in raw.split(",")]
    elif isinstance(raw, list | tuple) and all(isinstance(part, str) for part in raw):
        items = [part.strip().lower() for part in raw]
    else:
        return frozenset(), "Give tags as a list of words (or comma-separated text)."
    items = [item for item in items if item]
    bad = [item for item in items if not TAG.match(item)]
    if bad:
        return frozenset(), f"“{bad[0]}” is not a tag: use 1–24 lowercase letters, digits or dashes."
    if len(set(items)) > MAX_TAGS:
        return frozenset(), f"At most {MAX_TAGS} tags."
    return frozenset(items), None


def clean_input(data: Mapping[str, Any]) -> TemplateInput:
    """The template fields from a form or an API body, or ValidationFailed naming every bad field."""
    errors: dict[str, str] = {}

    name = text_field(data, "name", errors, max_length=MAX_NAME)
    description = text_field(data, "description", errors, required=False, max_length=MAX_DESCRIPTION)
    category = data.get("category") or ""
    if not isinstance(category, str) or category not in CATEGORIES:
        errors["category"] = f"Choose one of: {', '.join(CATEGORIES)}."
    visibility = data.get("visibility") or "private"
    if not isinstance(visibility, str) or visibility not in VISIBILITIES:
        errors["visibility"] = "Choose private or public."
    tags, tag_error = _tags(data.get("tags"))
    if tag_error:
        errors["tags"] = tag_error
    definition, definition_errors = flow_definition.validate(data.get("definition", ""))
    errors.update(definition_errors)
    if errors:
        raise ValidationFailed("Fix the highlighted fields; nothing was saved.", errors)
    return TemplateInput(name, description, category, tags, visibility, definition or {})


# --- derived keys and search tokens ------------------------------------------------------------


def derived_keys(template: AgentTemplate) -> dict[str, Any]:
    """The GSI keys that follow from a template's state: where it is listed and browsed."""
    listed = template.moderation_status == "approved" and template.visibility == "public"
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


# Stored attribute → the name clients use for it, so a size error names what they sent.
TEMPLATE_FIELD_NAMES = {"definition": "definition"}


def public_name(label: str | None) -> str:
    """A person as every tenant may see them: a name, never an email (templates stored before
    names were recorded carry emails; those show the part before the @)."""
    if not label:
        return ""
    return label.split("@", 1)[0] if "@" in label else label


def display_name(scope: AccessScope) -> str:
    """The name public templates show for the person acting (API keys show their own label)."""
    if scope.role == API:
        return scope.actor_label
    person = get_user(scope.actor_id)
    return person.name if person is not None and person.name else public_name(scope.actor_label)


def _history(template: AgentTemplate, scope: AccessScope, action: str, reason: str = "") -> list[dict]:
    entry = {"at": clock.now().isoformat(), "by": display_name(scope), "action": action, "reason": reason}
    return [*(template.moderation_history or []), entry]


def _apply(template: AgentTemplate, changes: dict[str, Any]) -> tuple[list, set[str], set[str]]:
    """Set `changes` and the keys they imply on the model; the update actions and token sets."""
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
    changes = {**changes, "updated_at": clock.now()}
    actions, before, after = _apply(template, changes)
    check_item_size(template, field_names=TEMPLATE_FIELD_NAMES)
    event = audit.build_event(
        scope, action, "template", template.template_id, tenant_id=template.tenant_id, changes=audit_changes
    )

    def build(tx: TransactWrite) -> None:
        tx.update(template, list(actions))  # conditioned on the version this change was made from
        _write_tokens(tx, template, before, after)
        tx.save(event)

    commit(build, conflict_message)
    return template


def _check_version(template: AgentTemplate, expected_version: int | None, message: str = STALE_EDIT) -> None:
    if expected_version is not None and int(template.version or 0) != int(expected_version):
        raise Conflict(message)


# --- create, edit, delete ----------------------------------------------------------------------


def create_template(scope: AccessScope, data: Mapping[str, Any]) -> AgentTemplate:
    scope.require_role(*OWNER_ROLES)
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
        moderation_status="pending" if fields.visibility == "public" else "draft",
        submitted_at=now if fields.visibility == "public" else None,
        definition=fields.definition,
        author_id=scope.actor_id,
        author_name=display_name(scope),
        created_at=now,
        updated_at=now,
        usage_count=0,
        rating_sum=0,
        rating_count=0,
        rating_avg=0,
    )
    template.moderation_history = _history(template, scope, "created")
    if fields.visibility == "public":
        template.moderation_history = _history(template, scope, "submitted")
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

    commit(build, "A template with that id exists already.")
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
    }
    changed = [
        name
        for name, value in changes.items()
        if (set(getattr(template, name) or ()) if name == "tags" else getattr(template, name))
        != (set(value or ()) if name == "tags" else value)
    ]
    old_status = template.moderation_status
    if fields.visibility == "public":
        if old_status != "pending" or template.submitted_at is None:
            changes["submitted_at"] = clock.now()
        changes["moderation_status"] = "pending"
        if old_status != "pending":
            changes["moderation_history"] = _history(template, scope, "submitted")
        changes["rejection_reason"] = None
    else:
        changes["moderation_status"] = "draft"
        changes["submitted_at"] = None
        changes["featured"] = False
        if old_status in ("pending", "approved"):
            changes["moderation_history"] = _history(template, scope, "withdrawn")
    audit_changes = {"fields": ", ".join(changed) or "none", "version": int(template.version) + 1}
    if old_status != changes["moderation_status"]:
        audit_changes["status"] = f"{old_status} → {changes['moderation_status']}"
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

    def build(tx: TransactWrite) -> None:
        tx.delete(template)  # conditioned on the version read above
        _write_tokens(tx, template, tokens, set())
        tx.save(event)

    commit(build, STALE_EDIT)
    # Ratings of a deleted template are no longer reachable; clear them after the fact.
    with TemplateRating.batch_write() as batch:
        for rating in TemplateRating.query(template_id):
            batch.delete(rating)


# --- author's listing requests -----------------------------------------------------------------


def submit_for_review(
    scope: AccessScope, template_id: str, expected_version: int | None = None
) -> AgentTemplate:
    template = get_editable(scope, template_id)
    _check_version(template, expected_version)
    if template.moderation_status in ("pending", "approved"):
        raise Conflict("This template is already public or waiting for review.")
    changes = {
        "visibility": "public",
        "moderation_status": "pending",
        "submitted_at": clock.now(),
        "rejection_reason": None,
        "moderation_history": _history(template, scope, "submitted"),
    }
    return _save_changes(
        scope, template, changes, "template.submit", {"status": f"{template.moderation_status} → pending"}
    )


def withdraw(scope: AccessScope, template_id: str, expected_version: int | None = None) -> AgentTemplate:
    template = get_editable(scope, template_id)
    _check_version(template, expected_version)
    if template.moderation_status not in ("pending", "approved"):
        raise Conflict("This template is not public nor waiting for review.")
    changes = {
        "visibility": "private",
        "moderation_status": "draft",
        "submitted_at": None,
        "featured": False,
        "moderation_history": _history(template, scope, "withdrawn"),
    }
    return _save_changes(
        scope, template, changes, "template.withdraw", {"status": f"{template.moderation_status} → draft"}
    )


# --- moderation --------------------------------------------------------------------------------

ALLOWED_FROM = {
    "approve": ("pending",),
    "reject": ("pending",),
    "feature": ("approved",),
    "unfeature": ("approved",),
    "unpublish": ("approved",),
}
NOT_ALLOWED = {
    "approve": "Only a template waiting for review can be approved; this one is {status}.",
    "reject": "Only a template waiting for review can be rejected; this one is {status}.",
    "feature": "Only a listed template can be featured; this one is {status}.",
    "unfeature": "Only a listed template can be unfeatured; this one is {status}.",
    "unpublish": "Only a listed template can be unpublished; this one is {status}.",
}
MODERATION_CHANGED = (
    "The template changed since you opened it (the author edited it or another moderator decided). "
    "Nothing was done: look at the current version and decide again."
)


def moderate(
    scope: AccessScope,
    template_id: str,
    action: str,
    *,
    reason: str = "",
    expected_version: int | None = None,
) -> AgentTemplate:
    """A moderator's decision. It lands only on the version the moderator saw, and goes to the audit trail."""
    if not can_moderate(scope):
        raise PermissionDenied("Only moderators and staff moderate templates.")
    if action not in MODERATION_ACTIONS:
        raise NotFound("That moderation action does not exist.")
    template = get_template(scope, template_id, consistent=True)
    _check_version(template, expected_version, MODERATION_CHANGED)
    status = template.moderation_status
    if status not in ALLOWED_FROM[action]:
        raise Conflict(NOT_ALLOWED[action].format(status=status))
    reason = (reason or "").strip()
    changes: dict[str, Any] = {}
    if action == "approve":
        changes = {"moderation_status": "approved", "submitted_at": None, "rejection_reason": None}
    elif action == "reject":
        if not reason:
            raise ValidationFailed(
                "Say why it is rejected: the author sees the reason.", {"reason": "A reason is required."}
            )
        if len(reason) > MAX_REASON:
            raise ValidationFailed("The reason is too long.", {"reason": f"At most {MAX_REASON} characters."})
        # `submitted_at` stays: it lists the template under Rejected (the sparse queue index).
        changes = {"moderation_status": "rejected", "rejection_reason": reason}
    elif action in ("feature", "unfeature"):
        changes = {"featured": action == "feature"}
    elif action == "unpublish":
        changes = {"moderation_status": "unpublished", "featured": False}
    changes["moderation_history"] = _history(template, scope, action, reason)
    audit_changes: dict[str, Any] = {"name": template.name}
    if "moderation_status" in changes:
        audit_changes["status"] = f"{status} → {changes['moderation_status']}"
    if reason:
        audit_changes["reason"] = reason
    return _save_changes(scope, template, changes, f"template.{action}", audit_changes, MODERATION_CHANGED)


# --- use ---------------------------------------------------------------------------------------


def use_template(scope: AccessScope, template_id: str, project_id: str, flow_name: str = "") -> Flow:
    """A new studio flow from the template, in one transaction with the usage count and the audit event."""
    if scope.role not in OWNER_ROLES:
        raise PermissionDenied("Only a tenant's admins and staff can use templates.")
    template = get_template(scope, template_id)
    tenant_id = scope.require_tenant()
    project = None
    if project_id and TEMPLATE_ID.match(project_id):
        try:
            project = Project.get(project_id)
        except DoesNotExist:
            project = None
    if project is None or project.tenant_id != tenant_id:
        raise ValidationFailed(
            "Choose a project of your tenant for the new flow.", {"project_id": "Unknown project."}
        )
    name = (flow_name or "").strip() or template.name
    if len(name) > 120:
        raise ValidationFailed("The flow name is too long.", {"name": "At most 120 characters."})
    now = clock.now()
    flow_id = new_id("flw")
    graph = template.definition
    placed = {node.id: node for node in flow_definition.layout(graph).nodes}
    flow = Flow(
        flow_id=flow_id,
        project_id=project.project_id,
        tenant_id=tenant_id,
        name=name,
        description=template.description[:500],
        source_template_id=template.template_id,
        node_count=len(graph["nodes"]),
        edge_count=len(graph["edges"]),
        created_by=scope.actor_id,
        created_at=now,
        updated_at=now,
    )
    nodes = [
        FlowNode(
            flow_id=flow_id,
            node_id=node["id"],
            tenant_id=tenant_id,
            node_type=node["type"],
            label=node.get("label") or placed[node["id"]].label,
            position_x=node.get("position", {}).get("x", placed[node["id"]].x),
            position_y=node.get("position", {}).get("y", placed[node["id"]].y),
        )
        for node in graph["nodes"]
    ]
    edges = [FlowEdge.from_definition(flow_id, tenant_id, edge) for edge in graph["edges"]]
    snapshot = FlowSnapshot(
        flow_id=flow_id,
        version=1,
        tenant_id=tenant_id,
        definition=graph,
        note=f"Created from template “{template.name}”",
        created_by=scope.actor_id,
        created_at=now,
    )
    event = audit.build_event(
        scope,
        "template.use",
        "template",
        template.template_id,
        tenant_id=tenant_id,
        changes={"flow_id": flow_id, "project_id": project.project_id, "template": template.name},
    )

    def build(tx: TransactWrite) -> None:
        tx.save(flow)
        tx.save(snapshot)
        for item in [*nodes, *edges]:
            tx.save(item)
        update_counters(tx, template.template_id, [AgentTemplate.usage_count.add(1)])
        tx.save(event)

    commit(build, "The template was deleted meanwhile; no flow was created.")
    return flow


# --- ratings -----------------------------------------------------------------------------------


def rate_template(scope: AccessScope, template_id: str, stars: Any) -> AgentTemplate:
    """One rating per person; a new one replaces theirs. Sum and count move together, atomically."""
    if scope.role not in RATER_ROLES:
        raise PermissionDenied("Only tenant admins and staff rate templates.")
    try:
        stars = int(stars)
    except (TypeError, ValueError):
        stars = 0
    if not 1 <= stars <= 5:
        raise ValidationFailed("Give 1 to 5 stars.", {"stars": "Choose 1 to 5 stars."})
    get_template(scope, template_id)
    for _attempt in range(RATING_ATTEMPTS):
        try:
            previous = TemplateRating.get(template_id, scope.actor_id, consistent_read=True)
        except DoesNotExist:
            previous = None
        if previous is not None and int(previous.stars) == stars:
            break
        rating = TemplateRating(
            template_id=template_id, user_id=scope.actor_id, stars=stars, rated_at=clock.now()
        )
        if previous is None:
            condition = TemplateRating.user_id.does_not_exist()
            actions = [AgentTemplate.rating_sum.add(stars), AgentTemplate.rating_count.add(1)]
            change = str(stars)
        else:
            # Conditioned on the stars read above: a concurrent change of the same rating retries.
            condition = TemplateRating.stars == previous.stars
            actions = [AgentTemplate.rating_sum.add(stars - int(previous.stars))]
            change = f"{int(previous.stars)} → {stars}"
        # The rater's tenant owns the event: it is their admin's action, whoever owns the template.
        event = audit.build_event(scope, "template.rate", "template", template_id, changes={"stars": change})

        def build(
            tx: TransactWrite, rating=rating, condition=condition, actions=actions, event=event
        ) -> None:
            tx.save(rating, condition=condition)
            update_counters(tx, template_id, list(actions))
            tx.save(event)

        try:
            commit(build, "retry")
        except Conflict:
            continue
        break
    else:
        raise Conflict("Your rating changed several times at once; nothing more was saved. Try again.")
    return refresh_rating_average(template_id)


def refresh_rating_average(template_id: str) -> AgentTemplate:
    """Copy sum/count into `rating_avg`, the sort key of the rating GSIs.

    Conditioned on the sum and count it was computed from: when a newer rating landed meanwhile, its
    own refresh writes the newer average, so the last refresh always reflects the final counts.
    """
    try:
        template = AgentTemplate.get(template_id, consistent_read=True)
    except DoesNotExist:  # deleted while the rating was saved
        raise NotFound("That template was deleted meanwhile.") from None
    average = round(template.rating_sum / template.rating_count, 4) if template.rating_count else 0
    if float(template.rating_avg or 0) != float(average):
        hash_key, _ = AgentTemplate._serialize_keys(template_id, None)
        try:
            AgentTemplate._get_connection().update_item(
                hash_key,
                actions=[AgentTemplate.rating_avg.set(average)],
                condition=(AgentTemplate.rating_sum == template.rating_sum)
                & (AgentTemplate.rating_count == template.rating_count),
            )
            template.rating_avg = average
        except Exception as exc:  # a newer rating won the race; its refresh writes the average
            if getattr(exc, "cause_response_code", "") != "ConditionalCheckFailedException":
                raise
    return template


def definition_text(template: AgentTemplate) -> str:
    return json.dumps(template.definition, indent=2)


# --- API shape ---------------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def as_dict(template: AgentTemplate, *, full: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": template.template_id,
        "tenant_id": template.tenant_id,
        "name": template.name,
        "description": template.description,
        "category": template.category,
        "tags": template.tag_list,
        "visibility": template.visibility,
        "moderation_status": template.moderation_status,
        "listed": template.is_listed,
        "featured": bool(template.featured),
        "usage_count": int(template.usage_count or 0),
        "rating": {"average": template.average_rating, "count": int(template.rating_count or 0)},
        "author": public_name(template.author_name),
        "version": int(template.version or 0),
        "created_at": _iso(template.created_at),
        "updated_at": _iso(template.updated_at),
    }
    if full:
        data["definition"] = template.definition
        data["rejection_reason"] = template.rejection_reason
        data["submitted_at"] = _iso(template.submitted_at)
        data["moderation_history"] = [
            {**entry, "by": public_name(entry.get("by"))} for entry in template.moderation_history or []
        ]
    return data
