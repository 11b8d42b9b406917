"""Per-tenant API keys for machines. The secret is shown once; only its SHA-256 is stored."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from pynamodb.exceptions import DoesNotExist

from dashboard.accounts import audit
from dashboard.accounts.models import ApiKey
from dashboard.accounts.scope import API, STAFF, AccessScope
from dashboard.accounts.services import get_tenant
from dashboard.core import clock
from dashboard.core.errors import DashboardError, NotFound, ValidationFailed
from dashboard.core.ids import new_id

TOKEN_PREFIX = "dtk"
# Key ids are ours (`key_` + a ULID); anything else is refused before it could reach DynamoDB,
# whose key limit (2,048 bytes) a client could otherwise overrun.
KEY_ID_PATTERN = re.compile(r"[a-z]{1,10}_[0-9a-z]{1,40}")
LONGEST_EXPIRY = timedelta(days=5 * 366)


class KeyExpired(DashboardError):
    """A real key past its expiry: the client is told so, rather than "invalid key"."""

    status = 401
    code = "key_expired"


@dataclass
class NewKey:
    key: ApiKey
    token: str  # shown once


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def expiry_moment(day: date) -> datetime:
    """A key "expiring on" a day works through that whole day (UTC) and stops right after it."""
    return datetime.combine(day, time.max, tzinfo=UTC).replace(microsecond=999000)


def create_key(scope: AccessScope, tenant_id: str, name: str, expires_on: date | None = None) -> NewKey:
    scope.require_role(STAFF)
    name = name.strip()
    if not name or len(name) > 80:
        raise ValidationFailed(
            "The key needs a name.", {"name": "1–80 characters, e.g. the agent that uses it."}
        )
    today = clock.now().date()
    if expires_on is not None and not today <= expires_on <= today + LONGEST_EXPIRY:
        raise ValidationFailed(
            "Pick another expiry date.",
            {"expires_on": f"From today ({today.isoformat()}, UTC) to at most five years ahead."},
        )
    get_tenant(tenant_id)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        key_id=new_id("key"),
        key_hash=_hash(secret),
        tenant_id=tenant_id,
        name=name,
        created_by=scope.actor_label,
        created_at=clock.now(),
        expires_on=expiry_moment(expires_on) if expires_on else None,
    )
    key.save()
    changes = {"name": name, "expires_on": expires_on.isoformat() if expires_on else None}
    audit.record(scope, "api_key.create", "api_key", key.key_id, tenant_id=tenant_id, changes=changes)
    return NewKey(key=key, token=f"{TOKEN_PREFIX}.{key.key_id}.{secret}")


def get_key(scope: AccessScope, key_id: str) -> ApiKey:
    scope.require_role(STAFF)
    if not KEY_ID_PATTERN.fullmatch(key_id):
        raise NotFound("That API key was not found.")
    try:
        return ApiKey.get(key_id)
    except DoesNotExist:
        raise NotFound("That API key was not found.") from None


def is_expired(key: ApiKey) -> bool:
    return key.expires_on is not None and clock.now() > key.expires_on


def revoke_key(scope: AccessScope, key_id: str, *, confirmed: bool | None = None) -> ApiKey:
    """Revoke a key for good. The page's POST carries `confirmed` from its question; without it
    (`confirmed=False`) nothing changes."""
    key = get_key(scope, key_id)
    if key.revoked_at is None and confirmed is False:
        raise ValidationFailed(
            f"Revoking “{key.name}” needs confirming first: nothing was changed.",
            {"confirmed": "Confirm on the question page."},
        )
    if key.revoked_at is None:
        key.update(actions=[ApiKey.revoked_at.set(clock.now())])
        audit.record(scope, "api_key.revoke", "api_key", key_id, tenant_id=key.tenant_id)
    return key


def list_keys(scope: AccessScope, tenant_id: str) -> list[ApiKey]:
    scope.require_role(STAFF)
    return list(ApiKey.by_tenant.query(tenant_id, scan_index_forward=False, limit=100))


def scope_for_token(token: str) -> AccessScope | None:
    """The scope an API token acts with, or None for an unknown, malformed or revoked token.

    A real key past its expiry date raises KeyExpired (401 `key_expired`, saying when it expired):
    only the holder of the secret learns that, so it tells an attacker nothing."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return None
    _prefix, key_id, secret = parts
    if not secret or not KEY_ID_PATTERN.fullmatch(key_id) or len(secret) > 200:
        return None
    try:
        key = ApiKey.get(key_id)
    except DoesNotExist:
        return None
    if key.revoked_at is not None or not hmac.compare_digest(key.key_hash, _hash(secret)):
        return None
    if is_expired(key):
        raise KeyExpired(
            f"This API key expired on {key.expires_on.date().isoformat()} (UTC); "
            "ask for a new key on the API keys page."
        )
    return AccessScope(
        role=API, actor_id=key.key_id, actor_label=f"API key {key.name}", tenant_id=key.tenant_id
    )
