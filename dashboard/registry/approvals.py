"""Four-eyes governance of the registry, as pure functions over in-memory items (no I/O).

A tenant protects environments (`production`) and aliases (`champion`). A change that touches a
protected target is not made: it becomes a change request, which another person approves (the
change is then applied, in the same transaction as the decision) or rejects, each with a reason.

    open ──approve──▶ approved        (the change was applied)
      │  ──reject───▶ rejected
      │  ──(time)───▶ expired         (read as expired once `expires_at` has passed; never decided)
      └──(apply)────▶ obsolete        (approved, but the change could no longer be made: the version
                                        was retired, the target moved on; closed with the reason)

Only an open, unexpired request can be decided, never by the person (or key) who asked. Reporting
how a deployment ended (deployed / failed) is not a change anyone asks for: it is never held.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from dashboard.core.errors import Conflict, PermissionDenied, ValidationFailed
from dashboard.core.scope import API, ROLE_LABELS, TENANT_ADMIN, AccessScope
from dashboard.registry.lifecycle import DEPLOYED, DEPLOYING, FAILED, RETIRED, ROLLED_BACK
from dashboard.registry.models import ChangeRequest, RegistryPolicy

OPEN, APPROVED, REJECTED, EXPIRED, OBSOLETE = "open", "approved", "rejected", "expired", "obsolete"
STATES = (OPEN, APPROVED, REJECTED, EXPIRED, OBSOLETE)
APPROVE, REJECT = "approve", "reject"
DECISIONS = (APPROVE, REJECT)
REQUESTER_ROLES = (TENANT_ADMIN, API)  # staff may always ask; the policy adds these
DEFAULT_REQUESTERS = (TENANT_ADMIN, API)
DEFAULT_EXPIRY_HOURS = 72
MAX_EXPIRY_HOURS = 24 * 30
MAX_DECISION_REASON = 500

ENVIRONMENT, ALIAS = "environment", "alias"
STATUS_KIND, ALIAS_KIND = "status", "alias"


def target(kind: str, name: str) -> str:
    return f"{kind}:{name}"


def target_label(value: str) -> str:
    kind, _sep, name = value.partition(":")
    return f"the {name} environment" if kind == ENVIRONMENT else f"the {name} alias"


def protected_environments(policy: RegistryPolicy | None) -> set[str]:
    return set(policy.protected_environments or []) if policy is not None else set()


def protected_aliases(policy: RegistryPolicy | None) -> set[str]:
    return set(policy.protected_aliases or []) if policy is not None else set()


def requesters(policy: RegistryPolicy | None) -> tuple[str, ...]:
    if policy is None or policy.requesters is None:
        return DEFAULT_REQUESTERS
    return tuple(role for role in policy.requesters if role in REQUESTER_ROLES)


def held_targets(
    policy: RegistryPolicy | None,
    *,
    to: str | None = None,
    touched: set[str] = frozenset(),
    alias: str | None = None,
) -> list[str]:
    """The protected targets a move (`to`, the environments it touches) or an alias move touches.

    Empty: the change is made at once. Reporting a deployment's outcome is never held.
    """
    found = []
    if to in (DEPLOYING, ROLLED_BACK, RETIRED):
        found += [target(ENVIRONMENT, env) for env in sorted(touched & protected_environments(policy))]
    elif to in (DEPLOYED, FAILED):
        return []
    if alias and alias in protected_aliases(policy):
        found.append(target(ALIAS, alias))
    return found


def check_may_request(policy: RegistryPolicy | None, scope: AccessScope, targets: list[str]) -> None:
    """Staff may always ask; tenant admins and API keys only if the tenant's policy lets them."""
    if scope.is_staff or scope.role in requesters(policy):
        return
    who = ["staff"] + [ROLE_LABELS[role].lower() + "s" for role in requesters(policy)]
    raise PermissionDenied(
        f"{', '.join(target_label(t) for t in targets).capitalize()} is protected: only "
        f"{' and '.join(who)} may ask to change it. Nothing was changed."
    )


def expiry(policy: RegistryPolicy | None, now: datetime) -> datetime:
    hours = int(policy.expiry_hours) if policy is not None and policy.expiry_hours else DEFAULT_EXPIRY_HOURS
    return now + timedelta(hours=hours)


def is_expired(request: ChangeRequest, now: datetime) -> bool:
    """Still stored as open, but past its expiry: it is expired, whether or not that is written yet."""
    return request.state == OPEN and now >= request.expires_at


def state_of(request: ChangeRequest, now: datetime) -> str:
    """The state as a person sees it: an open request past its expiry is expired."""
    return EXPIRED if is_expired(request, now) else request.state


def still_open(requests: list[ChangeRequest], now: datetime) -> list[ChangeRequest]:
    """The requests that can still be decided. The open index keeps an expired request until it is
    closed (when next touched, or by the background pass), so every reader of it filters here."""
    return [request for request in requests if request.state == OPEN and not is_expired(request, now)]


def expire(request: ChangeRequest, now: datetime) -> None:
    """Close an open request past its expiry as expired: it leaves the open index (no
    `open_tenant`), nobody decided it, and it says since when it is expired."""
    if not is_expired(request, now):
        raise Conflict(
            "This request is not expired: it "
            + ("is still open." if request.state == OPEN else f"was closed as {request.state}.")
        )
    request.state = EXPIRED
    request.open_tenant = None
    request.decided_at = request.expires_at
    request.outcome = f"expired at {_when(request.expires_at)} without a decision"


def expired_message(request: ChangeRequest) -> str:
    return (
        f"This request expired at {_when(request.expires_at)} without a decision; nothing was changed. "
        "Ask again if it is still needed."
    )


def describe(request: ChangeRequest) -> str:
    """What the request changes, in a sentence's words: “deploy churn 1.3.0 to production”."""
    name = f"{request.model_name} {request.version}"
    if request.kind == ALIAS_KIND:
        return f"point {request.alias} of {request.model_name} at {request.version}"
    if request.to == DEPLOYING:
        return f"deploy {name} to {request.environment}"
    if request.to == ROLLED_BACK:
        return f"roll back {name} in {request.environment or 'its environment'}"
    return f"retire {name}"


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "an unknown time"


def clean_decision_reason(reason: object) -> str:
    text = " ".join(reason.split()) if isinstance(reason, str) else ""
    if not text:
        raise ValidationFailed(
            "Say why you approve or reject: the reason goes to the audit trail. Nothing was decided.",
            {"reason": "A reason is required."},
        )
    if len(text) > MAX_DECISION_REASON:
        raise ValidationFailed(
            f"The reason is too long ({len(text)} characters).",
            {"reason": f"At most {MAX_DECISION_REASON} characters."},
        )
    return text


def check_decision(
    request: ChangeRequest, scope: AccessScope, decision: object, reason: object, now: datetime
) -> str:
    """Refuse every decision the rules do not allow, saying why; returns the cleaned reason."""
    if decision not in DECISIONS:
        raise ValidationFailed("Decide with approve or reject.", {"decision": "Use approve or reject."})
    state = state_of(request, now)
    if state == APPROVED:
        raise Conflict(
            f"This request was already approved by {request.decided_by} at {_when(request.decided_at)}; "
            "nothing else was changed."
        )
    if state == REJECTED:
        raise Conflict(
            f"This request was already rejected by {request.decided_by} at {_when(request.decided_at)}."
        )
    if state == EXPIRED:
        raise Conflict(expired_message(request))
    if state == OBSOLETE:
        raise Conflict(f"This request is closed: {request.outcome or 'it could not be applied'}.")
    if scope.actor_id == request.requested_by_id:
        raise PermissionDenied(
            "You asked for this change: another person must approve or reject it (four eyes)."
        )
    return clean_decision_reason(reason)


def decide(
    request: ChangeRequest, scope: AccessScope, state: str, reason: str, now: datetime, outcome: str = ""
) -> None:
    """Close the request (approved, rejected or obsolete): it leaves the queue."""
    if request.state != OPEN:
        raise Conflict("This request was decided meanwhile.")
    request.state = state
    request.open_tenant = None
    request.decided_by, request.decided_by_id = scope.actor_label, scope.actor_id
    request.decided_at = now
    request.decision_reason = reason
    request.outcome = outcome or None
