"""Users, tenants and sign-in. Passwords are hashed with Django's hashers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pyotp
import webauthn
from django.conf import settings
from django.contrib.auth.hashers import check_password, is_password_usable, make_password
from django.core import signing
from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    parse_authentication_credential_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from dashboard.accounts import oidc
from dashboard.accounts.inputs import EMAIL_RE, normalize_email, password_problem
from dashboard.accounts.models import ROLES, Invitation, Passkey, RateLimitCounter, SessionItem, Tenant, User
from dashboard.accounts.queries import (
    ERASING_MESSAGE,
    PLATFORM_OWNER,
    POLICY_ID,
    TENANTS_KEY,
    Retention,
    find_user_by_email,
    find_user_by_sso,
    forget_retention,
    get_invitation,
    get_passkey,
    get_tenant,
    get_user,
    invitation_in_scope,
    passkeys_of,
    retention_of_tenant,
    second_factor_required,
    session_ref,
    sessions_of,
    sign_in_policy,
    sign_in_wait_until,
    tenant_being_erased,
)
from dashboard.audit import services as audit
from dashboard.core import clock, request_cache
from dashboard.core.errors import Conflict, NotFound, PermissionDenied, TenantBeingErased, ValidationFailed
from dashboard.core.ids import new_id
from dashboard.core.money import money
from dashboard.core.scope import MODERATOR, STAFF, TENANT_ADMIN, AccessScope, Can
from dashboard.dynamo.base import transact_write
from dashboard.dynamo.transactions import condition_failed, save_together, transient


class LoginFailed(Exception):
    def __init__(self, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


# --- tenants -----------------------------------------------------------------------------------


def create_tenant(tenant_id: str, name: str, plan: str = "team") -> Tenant:
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{1,39}", tenant_id):
        raise ValidationFailed(
            "Invalid tenant id.", {"tenant_id": "2–40 lowercase letters, digits or dashes."}
        )
    tenant = Tenant(tenant_id=tenant_id, name=name, plan=plan, created_at=clock.now())
    try:
        tenant.save(condition=Tenant.tenant_id.does_not_exist())
        request_cache.forget(TENANTS_KEY)
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise Conflict(f"Tenant {tenant_id} already exists.") from None
        raise
    return tenant


# --- users -------------------------------------------------------------------------------------


def create_user(
    email: str,
    password: str,
    role: str,
    tenant_id: str | None = None,
    name: str = "",
    user_id: str | None = None,
    hashed_password: str | None = None,
    by: AccessScope | None = None,
) -> User:
    email = normalize_email(email)
    errors = _role_errors(role, tenant_id)
    if not EMAIL_RE.match(email):
        errors["email"] = "Enter a valid email address."
    if hashed_password is None and (problem := password_problem(password, email, name)):
        errors["password"] = problem
    if errors:
        raise ValidationFailed("The user could not be created.", errors)
    if tenant_id:
        get_tenant(tenant_id)
    # The email index is eventually consistent: two staff adding the same address in the same second
    # could both pass this check. Accepted: only staff create people, and rarely.
    if find_user_by_email(email):
        raise Conflict(f"A user with email {email} already exists.", {"email": "already registered"})
    user = User(
        user_id=user_id or new_id("usr"),
        email=email,
        name=name or email.split("@")[0].replace(".", " ").title(),
        role=role,
        tenant_id=tenant_id,
        password=hashed_password or make_password(password),
        created_at=clock.now(),
    )
    if by is None:
        user.save()  # the command line: no person in the dashboard to record
        return user
    event = audit.build_event(
        by,
        "user.create",
        "user",
        user.user_id,
        tenant_id=_trail_of(tenant_id),
        changes={"email": email, "role": role},
    )
    save_together([user, event], "That user id is taken.")
    return user


def set_monthly_budget(
    scope: AccessScope, tenant_id: str, budget_micro_usd: int | None, expected_version: int | None
) -> Tenant:
    """Store the tenant's monthly budget (analytics checks the amount and who may set it) with its
    audit event; the loser of a race, or an edit of a version no longer current, gets Conflict."""
    return _set_setting(
        scope, tenant_id, expected_version, "budget.set", "monthly_budget_micro_usd", budget_micro_usd,
        _budget_conflict,
    )  # fmt: skip


def set_metadata_dimensions(
    scope: AccessScope, tenant_id: str, keys: list[str], expected_version: int | None
) -> Tenant:
    """Store the metadata keys the tenant counts as dimensions (analytics checks them and who may set
    them) with its audit event; the loser of a race, or an edit of an old version, gets Conflict."""
    tenant = _set_setting(
        scope, tenant_id, expected_version, "tenant.metadata_dimensions", "metadata_dimensions", keys,
        lambda _: "Someone else changed this tenant's settings meanwhile. Review them and save again.",
    )  # fmt: skip
    forget_retention(tenant_id)  # the next write of this process counts the new keys
    return tenant


def _set_setting(
    scope: AccessScope,
    tenant_id: str,
    expected_version: int | None,
    action: str,
    attribute: str,
    value: object,
    conflict: Callable[[Tenant], str],
) -> Tenant:
    """One setting of a tenant stored with its audit event (before and after), on condition the tenant
    is still at the version its editor read (`conflict` says what changed: the message of the 409)."""
    tenant = get_tenant(tenant_id)
    if expected_version is not None and tenant.version != expected_version:
        raise Conflict(conflict(tenant))
    before = getattr(tenant, attribute)
    if isinstance(value, list):  # a list setting: stored absent when empty, recorded as a list
        before = list(before or [])
    setattr(tenant, attribute, value if value != [] else None)
    event = audit.build_event(
        scope, action, "tenant", tenant_id, tenant_id=tenant_id, changes={attribute: [before, value]}
    )
    try:
        save_together([tenant, event], "")  # the tenant carries its version condition
    except Conflict:
        raise Conflict(conflict(get_tenant(tenant_id))) from None
    request_cache.forget(TENANTS_KEY)
    return tenant


def _budget_conflict(tenant: Tenant) -> str:
    now = money(tenant.monthly_budget_micro_usd) if tenant.monthly_budget_micro_usd else "no budget"
    return f"Someone else changed this budget meanwhile (it is now {now}). Review it and save again."


def _trail_of(*tenant_ids: str | None) -> str:
    """The audit trail of a change to a person: their tenant's, else the platform's — never the
    tenant a staff member happens to focus (its admins would read about moderators and staff)."""
    return next((tenant_id for tenant_id in tenant_ids if tenant_id), audit.PLATFORM)


def _role_errors(role: str, tenant_id: str | None) -> dict[str, str]:
    if role not in ROLES:
        return {"role": f"Role must be one of: {', '.join(ROLES)}."}
    if role == TENANT_ADMIN and not tenant_id:
        return {"tenant": "A tenant admin needs a tenant."}
    if role in (STAFF, MODERATOR) and tenant_id:
        return {"tenant": "Staff and moderators belong to no tenant."}
    return {}


STALE_PERSON = "Someone else changed this person meanwhile. Review their details and save again."


def update_user(
    scope: AccessScope,
    user_id: str,
    *,
    name: str,
    role: str,
    tenant_id: str | None,
    password: str = "",
    expected_version: int | None = None,
) -> User:
    """Staff change a person's name, role, tenant or password.

    A new role, tenant or password ends the person's sessions, so nobody keeps a sign-in made
    under the old terms. Saved only over the version the editor saw.
    """
    scope.require_role(STAFF)
    user = get_user(user_id)
    if user is None:
        raise NotFound("That user was not found.")
    if expected_version is not None and user.version != expected_version:
        raise Conflict(STALE_PERSON)
    tenant_id = tenant_id or None
    errors = _role_errors(role, tenant_id)
    if password and (problem := password_problem(password, user.email, name.strip() or user.name)):
        errors["password"] = f"{problem} Or leave it empty."
    if user.user_id == scope.actor_id and (role, tenant_id) != (user.role, user.tenant_id):
        errors["role"] = "You cannot change your own role."
    if errors:
        raise ValidationFailed("The changes were not saved.", errors)
    if tenant_id:
        get_tenant(tenant_id)
    changes = {
        field: f"{before or '—'} → {after or '—'}"
        for field, before, after in (
            ("name", user.name, name.strip() or user.name),
            ("role", user.role, role),
            ("tenant", user.tenant_id, tenant_id),
        )
        if before != after
    }
    if password:
        changes["password"] = "reset"
    if not changes:
        return user
    ends_sessions = bool(changes.keys() - {"name"})
    user.name, user.role, user.tenant_id = name.strip() or user.name, role, tenant_id
    if password:
        user.password = make_password(password)
    event = audit.build_event(
        scope, "user.update", "user", user_id, tenant_id=_trail_of(tenant_id), changes=changes
    )
    save_together([user, event], STALE_PERSON)  # the user carries its version condition
    if ends_sessions:
        end_sessions(user_id)
    return user


def add_user(
    scope: AccessScope, email: str, password: str, role: str, tenant_id: str | None, name: str = ""
) -> User:
    """Staff add a person from the users page; the audit trail records who did."""
    scope.require_role(STAFF)
    return create_user(email, password, role, tenant_id=tenant_id or None, name=name, by=scope)


# --- sign-in attempts ---------------------------------------------------------------------------
# Nobody can lock anyone out: failures are counted per client address, per account *and* address, and
# per account across all addresses (a distributed guesser), in fixed windows (atomic ADD on rate-limits).
# A bucket over its limit does not lock: it makes the next attempt wait a number of seconds that doubles
# with each attempt over the limit (at most LOGIN_MAX_WAIT_SECONDS). A browser that signed in to the
# account before (a signed "known device" cookie) is counted on its own bucket instead, so guesses from
# elsewhere never slow its owner down.

KNOWN_DEVICE_SALT = "dashboard.accounts.known-device"
KNOWN_DEVICE_DAYS = 180


@dataclass
class SignInWindow:
    start: int
    seconds: int


def _sign_in_window() -> SignInWindow:
    seconds = settings.LOGIN_FAILURE_WINDOW_SECONDS
    now = int(clock.now().timestamp())
    return SignInWindow(start=now - now % seconds, seconds=seconds)


def _digest(text: str) -> str:
    return hashlib.sha256(text.strip().lower().encode()).hexdigest()[:32]


def known_device_token(user: User) -> str:
    """A value for the browser that just signed in as `user`: its later attempts skip the throttles
    that strangers' guesses fill (signed with SECRET_KEY; forging one needs the key)."""
    return signing.dumps({"u": user.user_id, "d": secrets.token_urlsafe(12)}, salt=KNOWN_DEVICE_SALT)


def _known_device(token: str | None, user: User | None) -> str | None:
    """The device id in a known-device token issued to `user`, or None."""
    if not token or user is None or len(token) > 500:
        return None
    try:
        value = signing.loads(token, salt=KNOWN_DEVICE_SALT, max_age=timedelta(days=KNOWN_DEVICE_DAYS))
    except signing.BadSignature:
        return None
    if not isinstance(value, dict) or value.get("u") != user.user_id or not isinstance(value.get("d"), str):
        return None
    return value["d"]


def _sign_in_buckets(
    email: str, address: str, device: str | None, window: SignInWindow
) -> list[tuple[str, int]]:
    account = _digest(email)
    if device:
        return [
            (f"login:device:{account}:{_digest(device)}:{window.start}", settings.LOGIN_FAILURES_PER_ACCOUNT)
        ]
    return [
        (f"login:address:{address}:{window.start}", settings.LOGIN_FAILURES_PER_ADDRESS),
        (f"login:pair:{account}:{_digest(address)}:{window.start}", settings.LOGIN_FAILURES_PER_ACCOUNT),
        (f"login:account:{account}:{window.start}", settings.LOGIN_FAILURES_PER_ACCOUNT_ANY_ADDRESS),
    ]


def _wait_seconds(over: int) -> int:
    """Seconds between attempts once a bucket is `over` attempts past its limit (doubling, capped)."""
    return min(2 ** min(over, 20), settings.LOGIN_MAX_WAIT_SECONDS)


def _take(bucket: str, limit: int, now_ms: int, expires) -> int | None:
    """Count one attempt on the bucket; milliseconds to wait, or None when it may be evaluated."""
    counter = RateLimitCounter(bucket)
    counter.update(actions=[RateLimitCounter.count.add(1), RateLimitCounter.expires_at.set(expires)])
    count = int(counter.count)
    if count < limit:
        return None
    waiting = int(counter.wait_until or 0) - now_ms
    if waiting > 0:
        return waiting
    # From the limit on, an attempt takes its turn and makes the next one wait; of concurrent
    # attempts only one gets the turn (the condition), so no more than `limit` are evaluated at once.
    until = now_ms + 1000 * _wait_seconds(count - limit + 1)
    try:
        counter.update(
            actions=[RateLimitCounter.wait_until.set(until)],
            condition=RateLimitCounter.wait_until.does_not_exist() | (RateLimitCounter.wait_until <= now_ms),
        )
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        return max(1000, sign_in_wait_until(bucket) - now_ms)
    return None


def take_sign_in_attempt(email: str, address: str, device: str | None = None) -> int | None:
    """Count this sign-in attempt first, then judge it: seconds to wait when a bucket is over its
    limit and its wait has not passed, else None (go ahead and check the password).

    Counting before evaluating is what makes the limit hold under concurrency: each attempt gets
    its own number from DynamoDB's atomic ADD, and past the limit only one attempt per wait claims
    the turn (a conditional update). A successful sign-in gives its slot back (`release_sign_in_attempt`).
    """
    window = _sign_in_window()
    expires = clock.now() + timedelta(seconds=window.seconds * 2)
    now_ms = int(clock.now().timestamp() * 1000)
    waits = [
        _take(bucket, limit, now_ms, expires)
        for bucket, limit in _sign_in_buckets(email, address, device, window)
    ]
    longest = max((wait for wait in waits if wait is not None), default=None)
    return None if longest is None else max(1, -(-longest // 1000))


def release_sign_in_attempt(email: str, address: str, device: str | None = None) -> None:
    """Give back the slot a successful sign-in took: only failures count against the limit."""
    window = _sign_in_window()
    for bucket, _limit in _sign_in_buckets(email, address, device, window):
        RateLimitCounter(bucket).update(actions=[RateLimitCounter.count.add(-1)])


_dummy_hash: str | None = None


def _hash_for_unknown_email() -> str:
    """A hash to check when no account has the email, so that answer costs as much as a real check."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = make_password("no account has this email")
    return _dummy_hash


def _wait_message(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = round(seconds / 60)
    return f"about {minutes} minutes"


def authenticate(email: str, password: str, address: str, known_device: str | None = None) -> User:
    """The active user with these credentials; raises LoginFailed when the attempt must wait
    (see the throttles above) or the credentials do not match. `known_device`: the browser's
    known-device token, if it has one (`known_device_token`)."""
    user = find_user_by_email(email)
    device = _known_device(known_device, user)
    retry_after = take_sign_in_attempt(email, address, device)
    if retry_after:
        raise LoginFailed(
            f"Too many failed sign-in attempts. Wait {_wait_message(retry_after)} and try again.",
            retry_after=retry_after,
        )

    def upgrade(raw_password: str) -> None:  # the hasher changed since this hash was made: save a new one
        user.update(actions=[User.password.set(make_password(raw_password))])

    # Always hash: an unknown email must not answer faster than a wrong password (user enumeration).
    matches = check_password(
        password,
        user.password if user is not None else _hash_for_unknown_email(),
        setter=upgrade if user is not None and user.is_active else None,
    )
    if user is None or not user.is_active or not matches:
        raise LoginFailed("That email and password do not match an active account.")
    release_sign_in_attempt(email, address, device)
    if user.role != STAFF and tenant_being_erased(user.tenant_id):
        raise LoginFailed(ERASING_MESSAGE)
    if user.role == STAFF and sign_in_policy().sso_for_staff and oidc.configured():
        raise LoginFailed("Staff sign in with single sign-on: use the button below.")
    user.update(actions=[User.last_login_at.set(clock.now())])
    return user


def end_sessions(user_id: str, keep: str | None = None) -> int:
    """Delete every session of a user (logout everywhere, disabled accounts), but `keep`."""
    ended = 0
    for session in sessions_of(user_id):
        if session.session_key == keep:
            continue
        SessionItem(session_key=session.session_key).delete()
        ended += 1
    return ended


def sign_out_everywhere(scope: AccessScope, user_id: str) -> int:
    """Staff end every session of a person, say after a lost laptop."""
    scope.require_role(STAFF)
    user = get_user(user_id)
    if user is None:
        raise NotFound("That user was not found.")
    ended = end_sessions(user_id)
    audit.record(
        scope,
        "user.sign_out",
        "user",
        user_id,
        tenant_id=_trail_of(user.tenant_id),
        changes={"sessions": ended},
    )
    return ended


def set_active(scope: AccessScope, user_id: str, active: bool, *, confirmed: bool | None = None) -> User:
    """Enable or disable a person. Disabling asks first on the page: `confirmed=False` refuses it."""
    scope.require_role(STAFF)
    user = get_user(user_id)
    if user is None:
        raise NotFound("That user was not found.")
    if user.user_id == scope.actor_id and not active:
        raise ValidationFailed("You cannot disable your own account.")
    if not active and user.is_active and confirmed is False:
        raise ValidationFailed(
            f"Disabling {user.email} needs confirming first: nothing was changed.",
            {"confirmed": "Confirm on the question page."},
        )
    user.update(actions=[User.is_active.set(active)])
    if not active:
        end_sessions(user_id)
    audit.record(
        scope,
        "user.enable" if active else "user.disable",
        "user",
        user_id,
        tenant_id=_trail_of(user.tenant_id),
        changes={"is_active": active},
    )
    return user


# --- retention -----------------------------------------------------------------------------------

MAX_RETENTION_DAYS = 730


def retention_errors(executions_days: int, content_days: int, logs_days: int) -> dict[str, str]:
    errors = {}
    for name, value in (
        ("executions_days", executions_days),
        ("content_days", content_days),
        ("logs_days", logs_days),
    ):
        if not 1 <= value <= MAX_RETENTION_DAYS:
            errors[name] = f"Use a number of days from 1 to {MAX_RETENTION_DAYS}."
    if not errors and content_days > executions_days:
        errors["content_days"] = "Inputs and outputs cannot be kept longer than their executions."
    if not errors and logs_days > executions_days:
        errors["logs_days"] = "Log lines cannot be kept longer than executions."
    return errors


def set_retention(
    scope: AccessScope, tenant_id: str, executions_days: int, content_days: int, logs_days: int
) -> Tenant:
    """Staff set how long one tenant's data is kept; audited. New writes carry the new TTLs at once;
    when any period got shorter, a retention job is queued to bring stored items within it (the
    background worker runs it: dashboard.operations.retention). A longer period applies to new writes."""
    scope.require(Can.RUN_PLATFORM)
    errors = retention_errors(executions_days, content_days, logs_days)
    if errors:
        raise ValidationFailed("The retention was not saved: " + " ".join(errors.values()), errors)
    tenant = get_tenant(tenant_id)
    before = retention_of_tenant(tenant)
    after = Retention(executions_days, content_days, logs_days)
    tenant.retention_executions_days = executions_days
    tenant.retention_content_days = content_days
    tenant.retention_logs_days = logs_days
    shorter = any(getattr(after, name) < getattr(before, name) for name in Retention.__dataclass_fields__)
    if shorter or (tenant.retention_job or {}).get("status") in ("queued", "running"):
        tenant.retention_job = new_retention_job(after, scope.actor_label)
    event = audit.build_event(
        scope,
        "tenant.retention",
        "tenant",
        tenant_id,
        tenant_id=tenant_id,
        changes={
            name: [getattr(before, name), getattr(after, name)]
            for name in Retention.__dataclass_fields__
            if getattr(before, name) != getattr(after, name)
        },
    )
    save_together([tenant, event], "Someone else changed this tenant meanwhile. Look again and save.")
    forget_retention(tenant_id)
    request_cache.forget(TENANTS_KEY)
    return tenant


# --- erasing ---------------------------------------------------------------------------------------


def erasing_tenant(tenant_id: str, job_id: str) -> Tenant:
    """The tenant's item marked as being erased by that job, unsaved: the erase saves it in the
    transaction that starts it (dashboard.operations.erasure), with the job and the audit event. From
    then on every way in refuses the tenant (queries.tenant_being_erased). Conditional on the item's
    version, so a tenant changed or erased meanwhile makes that transaction fail as a whole."""
    tenant = get_tenant(tenant_id)
    tenant.erasing_job_id = job_id
    tenant.erasing_since = clock.iso_ms(clock.now())
    return tenant


def new_retention_job(target: Retention, by: str) -> dict:
    """A job from the start: spans first, then executions, then log lines; the counts are what it
    changed (dashboard.operations.retention)."""
    return {
        "job_id": new_id("retention"),
        "status": "queued",
        "phase": "spans",
        "cursor": None,
        "target": {name: getattr(target, name) for name in Retention.__dataclass_fields__},
        "seen": 0,
        "expired": 0,
        "content_removed": 0,
        "logs_expired": 0,
        "spans_seen": 0,
        "spans_expired": 0,
        "spans_content_removed": 0,
        "queued_by": by,
        "queued_at": clock.iso_ms(clock.now()),
        "heartbeat": clock.iso_ms(clock.now()),
    }


def save_retention_job(tenant_id: str, job: dict) -> bool:
    """Record a job's progress, unless staff replaced the job meanwhile (False: stop working on it)."""
    tenant = get_tenant(tenant_id)
    if (tenant.retention_job or {}).get("job_id") != job["job_id"]:
        return False
    job["heartbeat"] = clock.iso_ms(clock.now())
    try:
        tenant.update(actions=[Tenant.retention_job.set(job)])
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False  # changed between the read and this write (version): the next pass resumes
        raise
    return True


# --- own account -------------------------------------------------------------------------------


def change_own_password(
    user: User,
    current: str,
    new: str,
    address: str,
    keep_session: str | None,
    known_device: str | None = None,
) -> int:
    """A person changes their own password: the current one is checked (wrong guesses count on the
    sign-in throttle, so this form is no side door for guessing), the new one passes the validators,
    and every other session of theirs ends. Returns how many sessions ended."""
    device = _known_device(known_device, user)
    retry_after = take_sign_in_attempt(user.email, address, device)
    if retry_after:
        raise ValidationFailed(
            f"Too many wrong passwords. Wait {_wait_message(retry_after)} and try again.",
            {"current": "Too many wrong passwords."},
        )
    if not check_password(current, user.password):
        raise ValidationFailed(
            "The password was not changed.", {"current": "That is not your current password."}
        )
    release_sign_in_attempt(user.email, address, device)
    if new == current:
        raise ValidationFailed(
            "The password was not changed.", {"new": "Choose a password you do not use now."}
        )
    if problem := password_problem(new, user.email, user.name):
        raise ValidationFailed("The password was not changed.", {"new": problem})
    user.password = make_password(new)
    scope = AccessScope(
        role=user.role, actor_id=user.user_id, actor_label=user.email, tenant_id=user.tenant_id
    )
    event = audit.build_event(
        scope, "user.password_change", "user", user.user_id, tenant_id=_trail_of(user.tenant_id)
    )
    save_together([user, event], STALE_PERSON)
    return end_sessions(user.user_id, keep=keep_session)


def end_own_session(user: User, ref: str, current_session: str | None) -> bool:
    """End one of the person's own sessions, named by its digest (queries.session_ref); False when
    no session of theirs has it. Their current session ends through "Sign out" instead."""
    for session in sessions_of(user.user_id):
        if session_ref(session.session_key) == ref and session.session_key != current_session:
            SessionItem(session_key=session.session_key).delete()
            return True
    return False


# --- invitations -------------------------------------------------------------------------------
# Tenant admins invite colleagues into their own tenant as tenant admins (all a tenant admin may
# grant); staff invite anyone as any role. The link holds a random secret (only its SHA-256 is kept),
# works until INVITATION_DAYS have passed and exactly once: accepting moves the invitation out of
# `pending` under a condition in the same transaction that creates the account.

INVITATION_GONE = (
    "This invitation link is no longer valid: it was used, revoked or has expired. Ask for a new one."
)


@dataclass
class NewInvitation:
    invitation: Invitation
    path: str  # the link, shown once to the inviter


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def invite(scope: AccessScope, email: str, role: str, tenant_id: str | None = None) -> NewInvitation:
    scope.require(Can.TENANT_PAGES)
    email = normalize_email(email)
    if scope.is_staff:
        tenant_id = tenant_id or None
        errors = _role_errors(role, tenant_id)
    else:  # a tenant admin grants only what they hold, in their own tenant
        tenant_id = scope.require_tenant()
        errors = {} if role == TENANT_ADMIN else {"role": "You may invite tenant admins of your tenant only."}
    if not EMAIL_RE.match(email) or len(email) > 254:
        errors["email"] = "Enter a valid email address."
    if errors:
        raise ValidationFailed("Nobody was invited.", errors)
    if tenant_id:
        get_tenant(tenant_id)
    if find_user_by_email(email):
        raise Conflict(f"{email} has an account already.", {"email": "already registered"})
    secret = secrets.token_urlsafe(24)
    now = clock.now()
    expires = now + timedelta(days=settings.INVITATION_DAYS)
    invitation = Invitation(
        invitation_id=new_id("inv"),
        secret_hash=_secret_hash(secret),
        email=email,
        role=role,
        tenant_id=tenant_id,
        owner=tenant_id or PLATFORM_OWNER,
        invited_by=scope.actor_id,
        invited_by_label=scope.actor_label,
        created_at=now,
        expires_at=expires,
        purge_at=expires + timedelta(days=30),
        pending="pending",
    )
    event = audit.build_event(
        scope,
        "invitation.create",
        "invitation",
        invitation.invitation_id,
        tenant_id=_trail_of(tenant_id),
        changes={"email": email, "role": role},
    )
    save_together([invitation, event], "That invitation id is taken; try again.")
    return NewInvitation(invitation, f"/invite/{invitation.invitation_id}/{secret}/")


def revoke_invitation(scope: AccessScope, invitation_id: str) -> Invitation:
    scope.require(Can.TENANT_PAGES)
    invitation = invitation_in_scope(scope, invitation_id)
    if invitation.status != "pending":
        raise Conflict("That invitation was already used or revoked.")
    invitation.status, invitation.pending = "revoked", None
    event = audit.build_event(
        scope,
        "invitation.revoke",
        "invitation",
        invitation_id,
        tenant_id=_trail_of(invitation.tenant_id),
        changes={"email": invitation.email},
    )
    save_together([invitation, event], "That invitation changed meanwhile (accepted or revoked).")
    return invitation


def open_invitation(invitation_id: str, secret: str) -> Invitation:
    """The pending, unexpired invitation this link names, or NotFound (one message for all cases)."""
    invitation = get_invitation(invitation_id)
    if (
        invitation is None
        or len(secret) > 200
        or not hmac.compare_digest(invitation.secret_hash, _secret_hash(secret))
        or invitation.status != "pending"
        or invitation.expires_at <= clock.now()
    ):
        raise NotFound(INVITATION_GONE)
    if tenant_being_erased(invitation.tenant_id):
        raise TenantBeingErased(ERASING_MESSAGE)
    return invitation


def accept_invitation(invitation_id: str, secret: str, name: str, password: str) -> User:
    """Create the invited person's account with the password they chose. Of two accepts at once
    exactly one creates an account (the invitation's condition), the other gets Conflict."""
    invitation = open_invitation(invitation_id, secret)
    name = name.strip()[:80]
    if problem := password_problem(password, invitation.email, name):
        raise ValidationFailed("Your account was not created.", {"password": problem})
    if find_user_by_email(invitation.email):
        raise Conflict(f"{invitation.email} has an account already: sign in instead.")
    user = User(
        user_id=new_id("usr"),
        email=invitation.email,
        name=name or invitation.email.split("@")[0].replace(".", " ").title(),
        role=invitation.role,
        tenant_id=invitation.tenant_id,
        password=make_password(password),
        created_at=clock.now(),
    )
    return _take_invitation(invitation, user, "password")


def accept_invitation_with_sso(invitation_id: str, secret: str, claims: dict) -> User:
    """Create the invited person's account linked to the provider's subject (oidc.finish verified
    the ID token). The provider must vouch for the invitation's very address (`email_verified`);
    the role and tenant are the invitation's, whatever the claims say. Refusals change nothing;
    the invitation is used up in the transaction that creates the account, as with a password."""
    invitation = open_invitation(invitation_id, secret)
    subject = f"{claims['iss']}#{claims['sub']}"
    email = normalize_email(str(claims.get("email") or ""))
    if not email:
        raise PermissionDenied(
            "Your identity provider did not tell us your e-mail address, so this invitation was not "
            "accepted. Set a password instead, or ask your admin to check OIDC_SCOPES (email)."
        )
    if claims.get("email_verified") is not True:
        raise PermissionDenied(
            f"Your identity provider has not verified {email}, so this invitation was not accepted. "
            "Verify the address there, or set a password instead."
        )
    if email != invitation.email:
        raise PermissionDenied(
            f"This invitation is for {invitation.email}, but you signed in at the provider as {email}. "
            f"Sign in there as {invitation.email}, or ask for an invitation for {email}."
        )
    if settings.OIDC_ALLOWED_DOMAINS and email.rpartition("@")[2] not in settings.OIDC_ALLOWED_DOMAINS:
        raise PermissionDenied(
            "Your e-mail domain may not sign in through single sign-on here; set a password instead."
        )
    if (linked := find_user_by_sso(subject)) is not None:
        raise Conflict(
            f"This sign-on identity is linked to {linked.email} already: sign in with single sign-on instead."
        )
    if find_user_by_email(invitation.email):
        raise Conflict(f"{invitation.email} has an account already: sign in instead.")
    user = User(
        user_id=new_id("usr"),
        email=invitation.email,
        name=str(claims.get("name") or "").strip()[:80]
        or invitation.email.split("@")[0].replace(".", " ").title(),
        role=invitation.role,
        tenant_id=invitation.tenant_id,
        password=make_password(None),  # unusable: this person signs in through the provider
        sso_subject=subject,
        created_at=clock.now(),
    )
    return _take_invitation(invitation, user, "sso")


def _take_invitation(invitation: Invitation, user: User, via: str) -> User:
    """Use the invitation up and create its account in one transaction: exactly one of two accepts at
    once gets through (the invitation's `pending` condition), the other gets Conflict."""
    event = audit.build_event(
        _scope_of(user),
        "invitation.accept",
        "invitation",
        invitation.invitation_id,
        tenant_id=_trail_of(user.tenant_id),
        changes={
            "user": user.user_id,
            "role": user.role,
            "invited_by": invitation.invited_by_label,
            "via": via,
        },
    )
    try:
        with transact_write() as tx:
            tx.update(
                invitation,
                actions=[
                    Invitation.status.set("accepted"),
                    Invitation.pending.remove(),
                    Invitation.accepted_user_id.set(user.user_id),
                ],
                condition=(Invitation.status == "pending"),
            )
            tx.save(user, condition=User.user_id.does_not_exist())
            tx.save(event)
    except TransactWriteError as exc:
        if condition_failed(exc) or transient(exc):
            raise Conflict(INVITATION_GONE) from None
        raise
    return user


# --- second factor (TOTP) ----------------------------------------------------------------------
# RFC 6238 codes from an authenticator app (pyotp). A code is accepted for its 30-second step and
# one step either side (clock drift); the step accepted last is stored, and a conditional update
# takes a step only when it is later than that one, so a code seen over a shoulder or replayed
# within its window is refused, even by two sign-ins at once. Every code tried counts on the same
# sign-in throttle as passwords. Recovery codes are random (50 bits), stored as SHA-256 digests in a
# set, and each is removed by a conditional update when used: it works once.

TOTP_ISSUER = "Diatonic AI Lab"
RECOVERY_CODES = 10
SECOND_FACTOR_MISMATCH = (
    "That code does not match. Use the current code of your authenticator app, or a recovery code."
)


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, email: str) -> str:
    """What the QR code holds (the otpauth:// URI authenticator apps read)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=TOTP_ISSUER)


def _totp_step(secret: str, code: str) -> int | None:
    """The time step (now, or one either side) whose code this is, or None."""
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(clock.now())
    for step in (current, current - 1, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _recovery_digest(code: str) -> str:
    return hashlib.sha256("".join(code.split()).lower().replace("-", "").encode()).hexdigest()


def _new_recovery_codes() -> list[str]:
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = base64.b32encode(secrets.token_bytes(5)).decode().lower()  # 8 characters, 40 bits
        codes.append(f"{raw[:4]}-{raw[4:]}")
    return codes


def _scope_of(user: User) -> AccessScope:
    return AccessScope(
        role=user.role, actor_id=user.user_id, actor_label=user.email, tenant_id=user.tenant_id
    )


def enable_totp(user: User, secret: str, code: str) -> list[str]:
    """Turn the second factor on with the secret the person scanned, once they typed a code from it;
    returns the recovery codes (shown once: only their digests are kept)."""
    step = _totp_step(secret, code)
    if step is None:
        raise ValidationFailed("The second factor is not on yet.", {"code": SECOND_FACTOR_MISMATCH})
    codes = _new_recovery_codes()
    user.totp_secret, user.totp_enabled_at, user.totp_last_step = secret, clock.now(), step
    user.recovery_codes = {_recovery_digest(code) for code in codes}
    event = audit.build_event(
        _scope_of(user), "user.totp_enable", "user", user.user_id, tenant_id=_trail_of(user.tenant_id)
    )
    save_together([user, event], STALE_PERSON)
    return codes


def disable_totp(user: User, code: str) -> None:
    """Turn the second factor off (a current code proves the person holds it); refused while their
    role must use one."""
    if second_factor_required(user.role) and not passkeys_of(user.user_id):
        raise ValidationFailed("Your role must use a second factor: it stays on.")
    if user.totp_secret is None:
        return
    if _totp_step(user.totp_secret, code) is None:
        raise ValidationFailed("The second factor is still on.", {"code": SECOND_FACTOR_MISMATCH})
    user.totp_secret = user.totp_enabled_at = user.totp_last_step = user.recovery_codes = None
    event = audit.build_event(
        _scope_of(user), "user.totp_disable", "user", user.user_id, tenant_id=_trail_of(user.tenant_id)
    )
    save_together([user, event], STALE_PERSON)


def _take_step(user: User, step: int) -> bool:
    """Record `step` as used unless it (or a later one) was used already: one conditional update."""
    try:
        user.update(
            actions=[User.totp_last_step.set(step)],
            condition=User.totp_last_step.does_not_exist() | (User.totp_last_step < step),
        )
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _take_recovery_code(user: User, code: str) -> bool:
    digest = _recovery_digest(code)
    if digest not in (user.recovery_codes or set()):
        return False
    try:
        user.update(
            actions=[User.recovery_codes.delete({digest})], condition=User.recovery_codes.contains(digest)
        )
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def verify_second_factor(user: User, code: str, address: str, known_device: str | None = None) -> str:
    """Check the second step of a sign-in: a current TOTP code not used before, or an unused recovery
    code. Counts on the sign-in throttle like a password; returns "totp" or "recovery code"."""
    device = _known_device(known_device, user)
    retry_after = take_sign_in_attempt(user.email, address, device)
    if retry_after:
        raise LoginFailed(
            f"Too many failed sign-in attempts. Wait {_wait_message(retry_after)} and try again.",
            retry_after=retry_after,
        )
    code = code.strip()[:40]
    used = None
    if user.is_active and user.totp_secret:
        step = _totp_step(user.totp_secret, code)
        if step is not None and _take_step(user, step):
            used = "totp"
        elif step is None and _take_recovery_code(user, code):
            used = "recovery code"
    if used is None:
        raise LoginFailed(SECOND_FACTOR_MISMATCH)
    release_sign_in_attempt(user.email, address, device)
    return used


# --- second factor (WebAuthn passkeys) -----------------------------------------------------------
# A passkey or security key (py_webauthn) is a second factor beside the authenticator app. The
# challenge is made here and kept by the view in the session until the browser's answer comes back
# (taken out first, so it works once); the answer must come from WEBAUTHN_ORIGIN for WEBAUTHN_RP_ID.
# At sign-in the authenticator's signature counter must grow: it is raised by a conditional update,
# so an answer replayed, or made by a cloned authenticator whose counter lags, is refused (an
# authenticator that keeps no counter reports 0 and is taken while the stored count is 0 too). Every
# passkey answer counts on the sign-in throttle like a TOTP code.

PASSKEY_RP_NAME = TOTP_ISSUER
PASSKEY_NAME_CHARS = 60
PASSKEY_ANSWER_CHARS = 20_000  # a browser's answer is a few kB; anything longer is not one
PASSKEY_NOT_ADDED = "The passkey was not added: your browser's answer did not check out. Try again."
PASSKEY_REFUSED = "That passkey was not accepted. Try again, or use a code from your authenticator app."
PASSKEY_CLONED = (
    "That passkey was refused: its use counter did not go up, so the answer was replayed or the "
    "passkey was copied. Remove it from your account and register it again."
)
PASSKEY_STALE = "Your passkey request timed out. Try again."
# Single sign-on leaves the second factor to the provider; a passkey guards a password.
PASSKEY_NEEDS_PASSWORD = "Passkeys are a second factor to a password; you sign in through single sign-on."


@dataclass(frozen=True)
class RelyingParty:
    """Who the browser must have talked to: the RP id (a domain) and the page's origin."""

    rp_id: str
    origin: str


def _passkey_descriptors(passkeys: list[Passkey]) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(
            id=base64url_to_bytes(passkey.credential_id),
            transports=[
                AuthenticatorTransport(t) for t in sorted(passkey.transports or ()) if t in _TRANSPORTS
            ],
        )
        for passkey in passkeys
    ]


_TRANSPORTS = {transport.value for transport in AuthenticatorTransport}


def passkey_registration_options(user: User, rp: RelyingParty) -> tuple[str, bytes]:
    """What navigator.credentials.create() needs (JSON) and the challenge to keep for the answer.
    The person's passkeys are excluded, so one authenticator is not registered twice."""
    options = webauthn.generate_registration_options(
        rp_id=rp.rp_id,
        rp_name=PASSKEY_RP_NAME,
        user_name=user.email,
        user_id=user.user_id.encode(),
        user_display_name=user.name,
        exclude_credentials=_passkey_descriptors(passkeys_of(user.user_id)),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
    )
    return webauthn.options_to_json(options), options.challenge


def _passkey_name_problem(name: str) -> str | None:
    if not name:
        return "Give the passkey a name, such as the device it lives on."
    if len(name) > PASSKEY_NAME_CHARS:
        return f"At most {PASSKEY_NAME_CHARS} characters."
    if any(ord(char) < 32 for char in name):
        return "Letters, digits and punctuation only."
    return None


def add_passkey(user: User, rp: RelyingParty, challenge: bytes | None, answer: str, name: str) -> Passkey:
    """Register the passkey the browser created for the challenge `challenge`; audited."""
    name = name.strip()
    problem = _passkey_name_problem(name)
    if problem:
        raise ValidationFailed("The passkey was not added.", {"name": problem})
    if not is_password_usable(user.password):
        raise ValidationFailed(PASSKEY_NEEDS_PASSWORD)
    if not challenge:
        raise ValidationFailed(PASSKEY_STALE)
    if not user.is_active or len(answer) > PASSKEY_ANSWER_CHARS:
        raise ValidationFailed(PASSKEY_NOT_ADDED)
    try:
        credential = parse_registration_credential_json(answer)
        verified = webauthn.verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.rp_id,
            expected_origin=rp.origin,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError):
        raise ValidationFailed(PASSKEY_NOT_ADDED) from None
    transports = {t.value for t in (credential.response.transports or ())}
    passkey = Passkey(
        user_id=user.user_id,
        credential_id=bytes_to_base64url(verified.credential_id),
        public_key=bytes_to_base64url(verified.credential_public_key),
        sign_count=verified.sign_count,
        transports=transports or None,
        name=name,
        created_at=clock.now(),
    )
    event = audit.build_event(
        _scope_of(user),
        "user.passkey_add",
        "user",
        user.user_id,
        tenant_id=_trail_of(user.tenant_id),
        changes={"passkey": name},
    )
    try:
        with transact_write() as tx:
            tx.save(passkey, condition=Passkey.credential_id.does_not_exist())
            tx.save(event)
    except TransactWriteError as exc:
        if condition_failed(exc) or transient(exc):
            raise Conflict("That passkey is registered already.") from None
        raise
    return passkey


def remove_passkey(user: User, credential_id: str) -> Passkey:
    """Remove one of the person's own passkeys; audited. Refused for the last second factor of a
    person whose role must use one."""
    passkey = get_passkey(user.user_id, credential_id)
    if passkey is None:
        raise NotFound("That passkey was not found.")
    if user.totp_secret is None and second_factor_required(user.role) and len(passkeys_of(user.user_id)) <= 1:
        raise ValidationFailed("Your role must use a second factor: add another before removing this one.")
    event = audit.build_event(
        _scope_of(user),
        "user.passkey_remove",
        "user",
        user.user_id,
        tenant_id=_trail_of(user.tenant_id),
        changes={"passkey": passkey.name},
    )
    try:
        with transact_write() as tx:
            tx.delete(passkey, condition=Passkey.credential_id.exists())  # removed twice: audited once
            tx.save(event)
    except TransactWriteError as exc:
        if condition_failed(exc) or transient(exc):
            raise NotFound("That passkey was not found.") from None
        raise
    return passkey


def has_second_factor(user: User) -> bool:
    """An authenticator app or at least one passkey (one query when there is no app)."""
    return bool(user.totp_secret) or bool(passkeys_of(user.user_id))


def passkey_sign_in_options(user: User, rp: RelyingParty) -> tuple[str, bytes] | None:
    """What navigator.credentials.get() needs (JSON: the person's passkeys allowed) and the challenge
    to keep; None when the person has no passkey."""
    passkeys = passkeys_of(user.user_id)
    if not passkeys:
        return None
    options = webauthn.generate_authentication_options(
        rp_id=rp.rp_id,
        allow_credentials=_passkey_descriptors(passkeys),
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return webauthn.options_to_json(options), options.challenge


def verify_passkey(
    user: User,
    rp: RelyingParty,
    challenge: bytes | None,
    answer: str,
    address: str,
    known_device: str | None = None,
) -> Passkey:
    """Check the second step of a sign-in made with a passkey: the answer signs `challenge` for this
    site with one of the person's passkeys, and its counter went up (raised under a condition).
    Counts on the sign-in throttle like a password."""
    device = _known_device(known_device, user)
    retry_after = take_sign_in_attempt(user.email, address, device)
    if retry_after:
        raise LoginFailed(
            f"Too many failed sign-in attempts. Wait {_wait_message(retry_after)} and try again.",
            retry_after=retry_after,
        )
    if not challenge:
        raise LoginFailed(PASSKEY_STALE)
    if not user.is_active or len(answer) > PASSKEY_ANSWER_CHARS:
        raise LoginFailed(PASSKEY_REFUSED)
    try:
        credential = parse_authentication_credential_json(answer)
    except (WebAuthnException, ValueError, TypeError, KeyError):
        raise LoginFailed(PASSKEY_REFUSED) from None
    passkey = get_passkey(user.user_id, bytes_to_base64url(credential.raw_id))
    if passkey is None:
        raise LoginFailed(PASSKEY_REFUSED)
    try:
        verified = webauthn.verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.rp_id,
            expected_origin=rp.origin,
            credential_public_key=base64url_to_bytes(passkey.public_key),
            credential_current_sign_count=int(passkey.sign_count or 0),
        )
    except InvalidAuthenticationResponse as exc:
        if "sign count" in str(exc):
            raise LoginFailed(PASSKEY_CLONED) from None
        raise LoginFailed(PASSKEY_REFUSED) from None
    except (WebAuthnException, ValueError, TypeError, KeyError):
        raise LoginFailed(PASSKEY_REFUSED) from None
    count = verified.new_sign_count
    # Two answers racing, or a clone: only the one that raises the stored counter gets in.
    grown = Passkey.sign_count < count if count > 0 else Passkey.sign_count == 0
    try:
        passkey.update(
            actions=[Passkey.sign_count.set(count), Passkey.last_used_at.set(clock.now())],
            condition=grown,
        )
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise LoginFailed(PASSKEY_CLONED) from None
        raise
    release_sign_in_attempt(user.email, address, device)
    return passkey


def set_sign_in_policy(scope: AccessScope, roles: set[str], sso_for_staff: bool = False) -> None:
    """Staff choose the roles that must use a second factor (their people enrol at next sign-in)
    and whether staff must sign in through single sign-on."""
    scope.require_role(STAFF)
    unknown = roles - set(ROLES)
    if unknown:
        raise ValidationFailed(
            "The policy was not saved.", {"roles": f"Unknown role: {', '.join(sorted(unknown))}."}
        )
    policy = sign_in_policy()
    before = sorted(policy.totp_roles or ())
    if sso_for_staff and not oidc.configured():
        raise ValidationFailed(
            "The policy was not saved.", {"sso_for_staff": "Single sign-on is not configured (OIDC_ISSUER)."}
        )
    was_sso = bool(policy.sso_for_staff)
    policy.totp_roles, policy.sso_for_staff, policy.updated_at = (roles or None), sso_for_staff, clock.now()
    event = audit.build_event(
        scope,
        "policy.sign_in",
        "policy",
        POLICY_ID,
        tenant_id=audit.PLATFORM,
        changes={"second_factor_roles": [before, sorted(roles)], "sso_for_staff": [was_sso, sso_for_staff]},
    )
    save_together([policy, event], "Someone else changed the policy meanwhile. Review it and save again.")
    request_cache.forget("sign-in-policy")


# --- single sign-on ----------------------------------------------------------------------------
# oidc.finish has verified the ID token; here the identity becomes a person. A person is found by
# the provider's (issuer, subject), never by e-mail alone; an e-mail match links an existing account
# only when OIDC_LINK_BY_EMAIL is on and the provider says the address is verified; a first sign-in
# creates an account only when OIDC_CREATE_USERS is on. OIDC_ALLOWED_DOMAINS holds every SSO sign-in.

NO_SSO_ACCOUNT = "No dashboard account matches this identity. Ask your admin for an invitation."


def _claimed_role(claims: dict, current: tuple[str, str | None] | None) -> tuple[str, str | None]:
    """Role and tenant from the claims when OIDC_ROLE_CLAIM is set, else the dashboard's own (or the
    defaults for a new account)."""
    if not settings.OIDC_ROLE_CLAIM:
        return current or (settings.OIDC_DEFAULT_ROLE, settings.OIDC_DEFAULT_TENANT or None)
    role = claims.get(settings.OIDC_ROLE_CLAIM)
    tenant = claims.get(settings.OIDC_TENANT_CLAIM) if settings.OIDC_TENANT_CLAIM else None
    tenant = tenant or (None if role in (STAFF, MODERATOR) else settings.OIDC_DEFAULT_TENANT or None)
    if not isinstance(role, str) or not isinstance(tenant, str | None) or _role_errors(role, tenant):
        raise ValidationFailed("Your identity provider gives no valid dashboard role; ask your admin.")
    if tenant:
        get_tenant(tenant)
    return role, tenant


def sso_sign_in(claims: dict) -> User:
    subject = f"{claims['iss']}#{claims['sub']}"
    email = normalize_email(str(claims.get("email") or ""))
    verified = claims.get("email_verified") is True
    if settings.OIDC_ALLOWED_DOMAINS and email.rpartition("@")[2] not in settings.OIDC_ALLOWED_DOMAINS:
        raise PermissionDenied("Your e-mail domain may not sign in to this dashboard.")
    user = find_user_by_sso(subject)
    if user is None and email:
        existing = find_user_by_email(email)
        if existing is not None:
            if not (settings.OIDC_LINK_BY_EMAIL and verified) or existing.sso_subject:
                raise PermissionDenied(
                    f"An account for {email} exists but is not linked to this sign-on; ask staff to link it."
                )
            try:
                existing.update(
                    actions=[User.sso_subject.set(subject)], condition=User.sso_subject.does_not_exist()
                )
            except UpdateError as exc:
                if exc.cause_response_code == "ConditionalCheckFailedException":
                    raise Conflict("That account was linked meanwhile; sign in again.") from None
                raise
            audit.record(
                _scope_of(existing),
                "user.sso_link",
                "user",
                existing.user_id,
                tenant_id=_trail_of(existing.tenant_id),
                changes={"subject": subject},
            )
            user = existing
    if user is None:
        if not settings.OIDC_CREATE_USERS or not (email and verified and EMAIL_RE.match(email)):
            raise PermissionDenied(NO_SSO_ACCOUNT)
        role, tenant_id = _claimed_role(claims, None)
        user = User(
            user_id=new_id("usr"),
            email=email,
            name=str(claims.get("name") or email.split("@")[0])[:80],
            role=role,
            tenant_id=tenant_id,
            password=make_password(None),  # unusable: this person signs in through the provider
            sso_subject=subject,
            created_at=clock.now(),
        )
        event = audit.build_event(
            _scope_of(user),
            "user.create",
            "user",
            user.user_id,
            tenant_id=_trail_of(tenant_id),
            changes={"email": email, "role": role, "via": "sso"},
        )
        save_together([user, event], "That account was created meanwhile; sign in again.")
        return user
    if not user.is_active:
        raise PermissionDenied("That account is disabled.")
    if settings.OIDC_ROLE_CLAIM:
        role, tenant_id = _claimed_role(claims, (user.role, user.tenant_id))
        if (role, tenant_id) != (user.role, user.tenant_id):
            before = f"{user.role}/{user.tenant_id or '—'}"
            user.role, user.tenant_id = role, tenant_id
            event = audit.build_event(
                _scope_of(user),
                "user.update",
                "user",
                user.user_id,
                tenant_id=_trail_of(tenant_id),
                changes={"role": f"{before} → {role}/{tenant_id or '—'} (provider)"},
            )
            save_together([user, event], STALE_PERSON)
    user.update(actions=[User.last_login_at.set(clock.now())])
    return user
