"""Who may do what with a template, and its moderation as a pure state machine (no I/O).

States: a template starts as a `draft` (private to its tenant) or, when its author asks for public
listing, `pending` in the moderation queue. A moderator approves (then it is listed publicly) or
rejects it with a reason; a listed one can be featured or unpublished. Any change of a listed or
pending template sends it back to review, so nothing unreviewed is ever listed.

`transition` answers the attribute changes a move makes (or raises why it may not happen);
services read the template, call it and save the changes under the version condition.
`actions_for` lists the moves a person may offer on a page, so templates never compare statuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dashboard.core.errors import Conflict, NotFound, ValidationFailed
from dashboard.core.scope import AccessScope, Can
from dashboard.marketplace.models import AgentTemplate, ModerationEntry

DRAFT = "draft"
PENDING = "pending"
APPROVED = "approved"
REJECTED = "rejected"
UNPUBLISHED = "unpublished"
STATES = (DRAFT, PENDING, APPROVED, REJECTED, UNPUBLISHED)

MAX_REASON = 500

# Reasons moderators give most, offered in the queue and on the review page; the text stays editable.
CANNED_REASONS = (
    "A node's settings hold a secret (API key, token or password): remove it and submit again.",
    "The description does not say what the template does or what it needs to run.",
    "It calls an external URL we cannot verify; use a documented endpoint.",
    "The flow does not work as described: a step is missing or not connected.",
    "It duplicates a template that is already listed.",
)
BULK_ACTIONS = ("approve", "reject")
ASKS_FIRST = ("unpublish",)  # moves that take a template away from every tenant ask first

# The author's moves and the moderators' ones: the states each may start from.
AUTHOR_MOVES: dict[str, tuple[str, ...]] = {
    "submit": (DRAFT, REJECTED, UNPUBLISHED),
    "withdraw": (PENDING, APPROVED),
}
MODERATION_MOVES: dict[str, tuple[str, ...]] = {
    "approve": (PENDING,),
    "reject": (PENDING,),
    "feature": (APPROVED,),
    "unfeature": (APPROVED,),
    "unpublish": (APPROVED,),
}
# The platform's own move: a listed template whose runs worsened sharply over a week goes back to the
# queue (analytics' template summaries pass decides, with the figures as the reason); no page offers it.
SYSTEM_MOVES: dict[str, tuple[str, ...]] = {"return": (APPROVED,)}
MOVES = {**AUTHOR_MOVES, **MODERATION_MOVES, **SYSTEM_MOVES}
MODERATION_ACTIONS = tuple(MODERATION_MOVES)

NOT_ALLOWED = {
    "submit": "This template is already public or waiting for review.",
    "withdraw": "This template is not public nor waiting for review.",
    "approve": "Only a template waiting for review can be approved; this one is {status}.",
    "reject": "Only a template waiting for review can be rejected; this one is {status}.",
    "feature": "Only a listed template can be featured; this one is {status}.",
    "unfeature": "Only a listed template can be unfeatured; this one is {status}.",
    "unpublish": "Only a listed template can be unpublished; this one is {status}.",
    "return": "Only a listed template can return to review; this one is {status}.",
}


# --- permissions ---------------------------------------------------------------------------------


def can_view(scope: AccessScope, template: AgentTemplate) -> bool:
    if scope.is_staff or template.is_listed:
        return True
    if scope.is_moderator:
        return template.moderation_status != DRAFT  # drafts are a tenant's private work
    return scope.tenant_id is not None and scope.tenant_id == template.tenant_id


def can_edit(scope: AccessScope, template: AgentTemplate) -> bool:
    if scope.is_staff:
        return True
    return scope.can(Can.TENANT_DATA) and scope.tenant_id == template.tenant_id


def can_moderate(scope: AccessScope) -> bool:
    return scope.can(Can.MODERATE)


def can_use(scope: AccessScope) -> bool:
    return scope.can(Can.TENANT_DATA) and scope.tenant_id is not None


def can_rate(scope: AccessScope, template: AgentTemplate | None = None) -> bool:
    """Tenant admins and staff rate templates, except their own (an author's stars would be praise)."""
    return scope.can(Can.RATE) and not (template is not None and is_author(scope, template))


def is_author(scope: AccessScope, template: AgentTemplate) -> bool:
    return bool(template.author_id) and template.author_id == scope.actor_id


OWN_TEMPLATE = "You wrote this template: authors cannot rate their own templates. Nothing was saved."


# --- the state machine ---------------------------------------------------------------------------


def entry(action: str, *, by: str, at: datetime, reason: str = "") -> ModerationEntry:
    return ModerationEntry(at=at.isoformat(), by=by, action=action, reason=reason)


def _history(template: AgentTemplate, *entries: ModerationEntry) -> list[ModerationEntry]:
    return [*(template.moderation_history or []), *entries]


def _clean_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            "Say why it is rejected: the author sees the reason.", {"reason": "A reason is required."}
        )
    if len(reason) > MAX_REASON:
        raise ValidationFailed("The reason is too long.", {"reason": f"At most {MAX_REASON} characters."})
    return reason


def transition(
    template: AgentTemplate,
    action: str,
    *,
    by: str,
    at: datetime,
    reason: str = "",
    visibility: str | None = None,
) -> dict[str, Any]:
    """The attribute changes `action` makes to `template` (which is not modified).

    `create` starts a new template (its `visibility` set); `edit` is an author's save asking for
    `visibility`: asking for public sends it (back) to review, private takes it out of the catalogue.
    The other actions are MOVES; one not allowed from the template's state raises Conflict, an unknown
    one NotFound, a rejection without a reason ValidationFailed.
    """
    status = template.moderation_status
    if action == "create":
        public = template.visibility == "public"
        created = entry("created", by=by, at=at)
        if not public:
            return {"moderation_status": DRAFT, "submitted_at": None, "moderation_history": [created]}
        submitted = entry("submitted", by=by, at=at)
        return {"moderation_status": PENDING, "submitted_at": at, "moderation_history": [created, submitted]}
    if action == "edit":
        if visibility == "public":
            changes: dict[str, Any] = {"moderation_status": PENDING, "rejection_reason": None}
            if status != PENDING or template.submitted_at is None:
                changes["submitted_at"] = at
            if status != PENDING:
                changes["moderation_history"] = _history(template, entry("submitted", by=by, at=at))
            return changes
        changes = {"moderation_status": DRAFT, "submitted_at": None, "featured": False}
        if status in (PENDING, APPROVED):
            changes["moderation_history"] = _history(template, entry("withdrawn", by=by, at=at))
        return changes
    if action not in MOVES:
        raise NotFound("That moderation action does not exist.")
    if status not in MOVES[action]:
        raise Conflict(NOT_ALLOWED[action].format(status=status))
    if action == "submit":
        return {
            "visibility": "public",
            "moderation_status": PENDING,
            "submitted_at": at,
            "rejection_reason": None,
            "moderation_history": _history(template, entry("submitted", by=by, at=at)),
        }
    if action == "withdraw":
        return {
            "visibility": "private",
            "moderation_status": DRAFT,
            "submitted_at": None,
            "featured": False,
            "moderation_history": _history(template, entry("withdrawn", by=by, at=at)),
        }
    if action == "return":
        return {
            "moderation_status": PENDING,
            "submitted_at": at,
            "featured": False,
            "rejection_reason": None,
            "moderation_history": _history(template, entry("returned", by=by, at=at, reason=reason)),
        }
    if action == "reject":
        reason = _clean_reason(reason)
        # `submitted_at` stays: it lists the template under Rejected (the sparse queue index).
        changes = {"moderation_status": REJECTED, "rejection_reason": reason}
    else:
        reason = (reason or "").strip()
        changes = {
            "approve": {"moderation_status": APPROVED, "submitted_at": None, "rejection_reason": None},
            "feature": {"featured": True},
            "unfeature": {"featured": False},
            "unpublish": {"moderation_status": UNPUBLISHED, "featured": False},
        }[action]
    return {**changes, "moderation_history": _history(template, entry(action, by=by, at=at, reason=reason))}


# --- what a page offers --------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """One move a page offers as a button: `name` is the URL's action, `tone` the button style."""

    name: str
    label: str
    moderation: bool  # a moderator's decision (else the author's listing request)
    tone: str = ""  # "" | "primary" | "danger"
    needs_reason: bool = False
    asks_first: bool = False  # the button leads to a confirmation step (a page, or inline with htmx)


def actions_for(scope: AccessScope, template: AgentTemplate) -> list[Action]:
    """The moves `scope` may make on `template` now, author's first, in the order pages show them."""
    status = template.moderation_status
    actions: list[Action] = []
    if can_edit(scope, template):
        if status in AUTHOR_MOVES["withdraw"]:
            actions.append(Action("withdraw", "Make private", moderation=False))
        else:
            actions.append(Action("submit", "Submit for public listing", moderation=False))
    if can_moderate(scope):
        if status in MODERATION_MOVES["approve"]:
            actions.append(Action("approve", "Approve", moderation=True, tone="primary"))
            actions.append(Action("reject", "Reject", moderation=True, tone="danger", needs_reason=True))
        if status in MODERATION_MOVES["feature"]:
            if template.featured:
                actions.append(Action("unfeature", "Unfeature", moderation=True))
            else:
                actions.append(Action("feature", "Feature", moderation=True))
            actions.append(Action("unpublish", "Unpublish…", moderation=True, tone="danger", asks_first=True))
    return actions
