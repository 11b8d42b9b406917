"""Reads of accounts: tenants, people and their sessions; and one item of any area's table read for a
scope (`get_in_scope`: missing, malformed and other-tenant ids all look the same, 404)."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from pynamodb.exceptions import DoesNotExist

from dashboard.accounts.inputs import normalize_email
from dashboard.accounts.models import (
    Invitation,
    Passkey,
    RateLimitCounter,
    SessionItem,
    SignInPolicy,
    Tenant,
    User,
)
from dashboard.core import clock, request_cache
from dashboard.core.converters import fits_key
from dashboard.core.errors import NotFound
from dashboard.core.scope import MODERATOR, STAFF, AccessScope
from dashboard.dynamo.base import client_of

# Ids we mint are short; DynamoDB refuses empty or very long keys outright (a 400 that would become a 500).
MAX_KEY_LENGTH = 200

M = TypeVar("M")


def get_in_scope(
    scope: AccessScope, model: type[M], hash_key, range_key=None, *, what: str, consistent_read: bool = False
) -> M:
    """The item at this key if the scope may read its tenant; NotFound("<what> was not found.") otherwise."""
    for key in (hash_key, range_key):
        if isinstance(key, str) and not 0 < len(key) <= MAX_KEY_LENGTH:
            raise NotFound(f"{what} was not found.")
    try:
        item = model.get(hash_key, range_key, consistent_read=consistent_read)
    except DoesNotExist:
        raise NotFound(f"{what} was not found.") from None
    scope.check_tenant(item.tenant_id, what)
    return item


# --- tenants and people ------------------------------------------------------------------------


TENANTS_KEY = "tenants"


def list_tenants() -> list[Tenant]:
    """Every tenant by name; read once per request, however many parts of the page show it."""
    return request_cache.remember(TENANTS_KEY, lambda: list(Tenant.by_name.query("tenant")))


@dataclass(frozen=True)
class Retention:
    """How long a tenant's data is kept, in days: executions (cost records; rollups are kept for ever),
    their inputs/outputs, and run log lines."""

    executions_days: int
    content_days: int
    logs_days: int


DEFAULT_RETENTION = Retention(executions_days=180, content_days=180, logs_days=30)


def retention_of_tenant(tenant: Tenant) -> Retention:
    return Retention(
        int(tenant.retention_executions_days or DEFAULT_RETENTION.executions_days),
        int(
            tenant.retention_content_days
            or tenant.retention_executions_days
            or DEFAULT_RETENTION.content_days
        ),
        int(tenant.retention_logs_days or DEFAULT_RETENTION.logs_days),
    )


RETENTION_CACHE_SECONDS = 10


@dataclass(frozen=True)
class WriteSettings:
    """What ingestion stamps on every execution it writes, from the tenant's item: its retention and
    the metadata keys counted as dimensions (dashboard.analytics.rollups)."""

    retention: Retention
    metadata_dimensions: tuple[str, ...] = ()


_retention_cache: dict[str, tuple[float, WriteSettings]] = {}


def write_settings(tenant_id: str) -> WriteSettings:
    """The tenant's write settings: read at most once per request, and outside requests (imports,
    seeding, the worker) at most every RETENTION_CACHE_SECONDS per process, so a change reaches every
    process within that time."""

    def read() -> WriteSettings:
        cached = _retention_cache.get(tenant_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        try:
            tenant = get_tenant(tenant_id)
            kept = WriteSettings(retention_of_tenant(tenant), tuple(tenant.metadata_dimensions or ()))
        except NotFound:
            kept = WriteSettings(DEFAULT_RETENTION)
        _retention_cache[tenant_id] = (time.monotonic() + RETENTION_CACHE_SECONDS, kept)
        return kept

    return request_cache.remember(f"retention#{tenant_id}", read)


def retention_of(tenant_id: str) -> Retention:
    """The tenant's retention (ingestion stamps every item it writes with it): `write_settings`."""
    return write_settings(tenant_id).retention


def metadata_dimensions_of(tenant_id: str) -> tuple[str, ...]:
    """The metadata keys the tenant counts as overview dimensions (at most 5): `write_settings`."""
    return write_settings(tenant_id).metadata_dimensions


def forget_retention(tenant_id: str) -> None:
    """After this process changed the tenant's retention or metadata dimensions: its next write uses
    the new ones."""
    _retention_cache.pop(tenant_id, None)
    request_cache.forget(f"retention#{tenant_id}")


ERASING_MESSAGE = (
    "This tenant is being erased: its data is being deleted, and nobody can sign in to it or send it data."
)


def tenant_being_erased(tenant_id: str | None) -> bool:
    """Has an erase of the tenant started? The one check every way in makes (signing in, each page of
    a signed-in person, each API key and OTLP request): one strongly consistent GetItem of the tenant a
    request, so access ends with the transaction that starts the erase, in every process at once.
    A tenant no longer there (erased to the end) has nothing left to reach."""
    if not tenant_id or not fits_key(tenant_id):
        return False

    def read() -> bool:
        try:
            return Tenant.get(tenant_id, consistent_read=True).erasing_job_id is not None
        except DoesNotExist:
            return False

    return request_cache.remember(f"erasing#{tenant_id}", read)


def person_and_tenant(user_id: str, tenant_id: str) -> User | None:
    """The person, read in one BatchGetItem with whether their tenant is being erased (remembered for
    `tenant_being_erased`, so the request makes no second call for it): the page's first read."""
    if not fits_key(user_id) or not fits_key(tenant_id):
        return None
    users, tenants = User.Meta.table_name, Tenant.Meta.table_name
    request = {
        users: {"Keys": [{"user_id": {"S": user_id}}]},
        tenants: {
            "Keys": [{"tenant_id": {"S": tenant_id}}],
            "ConsistentRead": True,  # access ends with the transaction that starts an erase
            "ProjectionExpression": "tenant_id, erasing_job_id",
        },
    }
    found: dict[str, list[dict]] = {}
    while request:
        answer = client_of(User).batch_get_item(RequestItems=request)
        for table, items in answer.get("Responses", {}).items():
            found.setdefault(table, []).extend(items)
        request = answer.get("UnprocessedKeys") or {}
    request_cache.remember(
        f"erasing#{tenant_id}", lambda: any("erasing_job_id" in item for item in found.get(tenants, []))
    )
    return User.from_raw_data(found[users][0]) if found.get(users) else None


def get_tenant(tenant_id: str) -> Tenant:
    if not fits_key(tenant_id):
        raise NotFound("That tenant was not found.")
    try:
        return Tenant.get(tenant_id)
    except DoesNotExist:
        raise NotFound("That tenant was not found.") from None


def find_user_by_email(email: str) -> User | None:
    for user in User.by_email.query(normalize_email(email), limit=1):
        return user
    return None


def find_user_by_sso(subject: str) -> User | None:
    """The person linked to this `issuer#subject` (one query on the sparse SSO index)."""
    for user in User.by_sso_subject.query(subject, limit=1):
        return user
    return None


def display_names(user_ids: list[str], tenant_id: str) -> dict[str, str]:
    """Names of the given ids that are dashboard users of `tenant_id` (one batch read; others omitted)."""
    ids = [user_id for user_id in dict.fromkeys(user_ids) if user_id.startswith("usr_") and fits_key(user_id)]
    if not ids:
        return {}
    users = User.batch_get(ids, attributes_to_get=["user_id", "name", "tenant_id"])
    return {user.user_id: user.name for user in users if user.tenant_id == tenant_id and user.name}


def people_of(user_ids: list[str], tenant_id: str | None) -> dict[str, tuple[str, str]]:
    """(name, email) of the given ids that are dashboard users (of `tenant_id` unless None): one
    BatchGet of at most 100 ids; ids that are not dashboard users are left out."""
    ids = [user_id for user_id in dict.fromkeys(user_ids) if user_id.startswith("usr_") and fits_key(user_id)]
    if not ids:
        return {}
    users = User.batch_get(ids[:100], attributes_to_get=["user_id", "name", "email", "tenant_id"])
    return {
        user.user_id: (user.name or user.email, user.email)
        for user in users
        if tenant_id is None or user.tenant_id == tenant_id
    }


def get_user(user_id: str) -> User | None:
    if not fits_key(user_id):
        return None
    try:
        return User.get(user_id)
    except DoesNotExist:
        return None


def session_count(user_id: str) -> int:
    """Signed-in browsers of a user (expired sessions the TTL has not removed yet count too)."""
    return sum(1 for _ in SessionItem.by_user.query(user_id))


USER_LIST_LIMIT = 200


def list_users(scope: AccessScope) -> list[tuple[str, list[User]]]:
    """Staff: people grouped as platform (staff, moderators) and per tenant (the focused one, or all)."""
    scope.require_role(STAFF)
    groups = [
        (
            "Platform",
            [user for role in (STAFF, MODERATOR) for user in User.by_role.query(role, limit=USER_LIST_LIMIT)],
        )
    ]
    tenants = [get_tenant(scope.tenant_id)] if scope.tenant_id else list_tenants()
    for tenant in tenants:
        groups.append((tenant.name, list(User.by_tenant.query(tenant.tenant_id, limit=USER_LIST_LIMIT))))
    return groups


def people_acting_in(scope: AccessScope) -> list[User]:
    """Who the scope may pick in the audit trail's "who" filter: its tenant's people; for staff also
    staff and moderators (at most 3 queries: two roles and the tenant). A tenant admin is never shown
    the platform's people (their rows keep the label recorded at the time)."""
    people = []
    if scope.is_staff:
        people = [
            user for role in (STAFF, MODERATOR) for user in User.by_role.query(role, limit=USER_LIST_LIMIT)
        ]
    if scope.tenant_id:
        people = list(User.by_tenant.query(scope.tenant_id, limit=USER_LIST_LIMIT)) + people
    return people


def count_users(tenant_id: str) -> int:
    """People of a tenant (a count query on the tenant index: no items are returned)."""
    return User.by_tenant.count(tenant_id)


def sessions_of(user_id: str) -> list[SessionItem]:
    """Every session of a person (the `by_user` index): one query."""
    return list(SessionItem.by_user.query(user_id))


def session_ref(session_key: str) -> str:
    """How pages name a session: a digest, so no page ever shows a working session key."""
    return hashlib.sha256(session_key.encode()).hexdigest()[:20]


def own_sessions(user_id: str) -> list[SessionItem]:
    """A person's live sessions, newest sign-in first: one query on `by_user` (keys only) and one
    BatchGet of at most 100 of them (older ones are still ended by "sign out everywhere")."""
    keys = [item.session_key for item in SessionItem.by_user.query(user_id, limit=100)]
    if not keys:
        return []
    now = clock.now()
    live = [item for item in SessionItem.batch_get(keys) if item.expires_at > now]
    oldest = datetime.min.replace(tzinfo=UTC)
    return sorted(live, key=lambda item: item.signed_in_at or oldest, reverse=True)


def sign_in_wait_until(bucket: str) -> int:
    """When a sign-in bucket's wait ends (epoch ms; 0: none): one consistent GetItem."""
    try:
        return int(RateLimitCounter.get(bucket, consistent_read=True).wait_until or 0)
    except DoesNotExist:
        return 0


# --- invitations -------------------------------------------------------------------------------

PLATFORM_OWNER = "platform"  # the `owner` of staff and moderator invitations
INVITATION_LIST_LIMIT = 100


def get_invitation(invitation_id: str) -> Invitation | None:
    """One invitation by id (a consistent GetItem: an accepted link must look used at once)."""
    if not fits_key(invitation_id):
        return None
    try:
        return Invitation.get(invitation_id, consistent_read=True)
    except DoesNotExist:
        return None


def invitation_in_scope(scope: AccessScope, invitation_id: str) -> Invitation:
    """An invitation the scope may act on; another tenant's (or the platform's, for a tenant admin)
    is NotFound like a missing one."""
    invitation = get_invitation(invitation_id)
    if invitation is None:
        raise NotFound("That invitation was not found.")
    scope.check_tenant(invitation.tenant_id, "That invitation")
    return invitation


def pending_invitations(scope: AccessScope) -> list[Invitation]:
    """Pending, unexpired invitations newest first: a tenant admin's tenant's, a focusing staff
    member's tenant's, else (staff) every tenant's and the platform's. One query."""
    now = clock.now()
    tenant_id = scope.reading_tenant()
    if tenant_id:
        items = Invitation.by_owner.query(
            tenant_id,
            filter_condition=Invitation.status == "pending",
            scan_index_forward=False,
            limit=INVITATION_LIST_LIMIT,
        )
    else:
        scope.require_role(STAFF)
        items = Invitation.pending_index.query(
            "pending", scan_index_forward=False, limit=INVITATION_LIST_LIMIT
        )
    return [item for item in items if item.expires_at > now]


# --- sign-in policy ----------------------------------------------------------------------------

POLICY_ID = "platform"


def sign_in_policy() -> SignInPolicy:
    """The platform's sign-in rules (one GetItem, once per request); defaults when never set."""

    def read() -> SignInPolicy:
        try:
            return SignInPolicy.get(POLICY_ID)
        except DoesNotExist:
            return SignInPolicy(policy_id=POLICY_ID)

    return request_cache.remember("sign-in-policy", read)


def second_factor_required(role: str) -> bool:
    return role in (sign_in_policy().totp_roles or set())


def passkeys_of(user_id: str) -> list[Passkey]:
    """A person's passkeys, oldest first (one query; a person has a handful)."""
    return sorted(Passkey.query(user_id), key=lambda passkey: passkey.created_at)


def get_passkey(user_id: str, credential_id: str) -> Passkey | None:
    """One of this person's passkeys (keyed by its owner: another person's id finds nothing)."""
    if not credential_id or len(credential_id) > 1400:
        return None
    try:
        return Passkey.get(user_id, credential_id)
    except DoesNotExist:
        return None
