"""API keys for machines, and the allowance each key spends per request.

Keys: per tenant; the secret is shown once, only its SHA-256 is stored.

Rate limits: a token bucket per API key, shared by every web process: its state is one DynamoDB item.

Settings: `API_RATE_LIMIT_PER_MINUTE` tokens flow in per minute (default 600) and the bucket holds
that many plus `API_RATE_LIMIT_BURST` extra (default 100). A fresh or idle key may therefore send
700 requests at once, then 10 a second; no 60 seconds ever let more than 2 × 600 + 100 through.

Design (GCRA, the "generic cell rate algorithm", which is a token bucket written as one number).
The item `rate-limits/api:<key_id>` stores `tat`, the theoretical arrival time in epoch µs: the
moment the bucket would be full again. With T = 60 s / PER_MINUTE (the time one token takes to
come back) and capacity C = PER_MINUTE + BURST, a request at `now` is allowed when
`tat - now <= (C - 1) × T`, and then moves `tat` to `max(tat, now) + T`. Remaining tokens are
`C - ceil((tat - now) / T)`.

DynamoDB cannot compute `max()` in an update, so the state space is split in three by conditions,
and each request makes the one conditional UpdateItem that fits its region:
- idle (`tat` missing or `<= now`, the bucket is full): `SET tat = now + T`;
- active (`now < tat <= now + (C - 1) × T`): `SET tat = tat + T`;
- empty (`tat > now + (C - 1) × T`): nothing to write; the answer is 429.
Each condition is evaluated by DynamoDB atomically with its write, so concurrent requests are
serialised on the item: with one token left, exactly one of N simultaneous requests finds `tat`
still inside the active region; the others see the condition fail. A failed condition is not a
lost race to retry blindly (the conditions test a region, not a version): it means the state is in
another region, which a consistent GetItem tells, and the request tries that region's update
(at most a few rounds: regions only change idle → active → empty by requests, and back by time).

One DynamoDB call on the common path: each process remembers the last `tat` it saw per key and
tries the region that `tat` predicts (a busy key stays active, a quiet key is idle on each
request). A wrong guess costs one GetItem more, never a wrong answer. A 429 costs the failed
update and a GetItem to tell how long to wait.

Every decision also counts the request on the key's usage row for the day
(`api-usage:<key_id>:<YYYY-MM-DD>`, atomic ADD, kept 9 days): the API keys page shows last use and
the requests of the last 7 days from these rows.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from pynamodb.exceptions import UpdateError

from dashboard.accounts.models import RateLimitCounter
from dashboard.accounts.queries import ERASING_MESSAGE, get_tenant, tenant_being_erased
from dashboard.apikeys.models import ApiKey, token_bucket, usage_bucket
from dashboard.apikeys.queries import KEY_ID_PATTERN, find_key, get_key, stored_tat
from dashboard.audit import services as audit
from dashboard.core import clock
from dashboard.core.errors import DashboardError, TenantBeingErased, ValidationFailed
from dashboard.core.ids import new_id
from dashboard.core.scope import API, PRICES_KEY, STAFF, AccessScope

TOKEN_PREFIX = "dtk"
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


# Platform keys that manage model prices (`/api/prices`) and nothing else are filed under this
# pseudo-tenant: no tenant id can be written with "~", so no tenant's key list or data holds them.
PRICES_KEYS = "~prices"


def create_key(scope: AccessScope, tenant_id: str, name: str, expires_on: date | None = None) -> NewKey:
    """A key for one tenant's agents, or (tenant_id PRICES_KEYS) a platform key for model prices."""
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
    if tenant_id != PRICES_KEYS:
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


def scope_for_token(token: str) -> AccessScope | None:
    """The scope an API token acts with, or None for an unknown, malformed or revoked token.

    A real key past its expiry date raises KeyExpired (401 `key_expired`, saying when it expired):
    only the holder of the secret learns that, so it tells an attacker nothing. A key of a tenant
    whose erase has started raises TenantBeingErased (403 `tenant_erasing`), before the request
    spends anything or writes anything: every endpoint and OTLP receiver authenticates here."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return None
    _prefix, key_id, secret = parts
    if not secret or not KEY_ID_PATTERN.fullmatch(key_id) or len(secret) > 200:
        return None
    key = find_key(key_id)
    if key is None:
        return None
    if key.revoked_at is not None or not hmac.compare_digest(key.key_hash, _hash(secret)):
        return None
    if is_expired(key):
        raise KeyExpired(
            f"This API key expired on {key.expires_on.date().isoformat()} (UTC); "
            "ask for a new key on the API keys page."
        )
    if key.tenant_id == PRICES_KEYS:  # a platform key: prices only, no tenant's data
        return AccessScope(
            role=PRICES_KEY, actor_id=key.key_id, actor_label=f"Prices key {key.name}", tenant_id=None
        )
    if tenant_being_erased(key.tenant_id):
        raise TenantBeingErased(ERASING_MESSAGE)
    return AccessScope(
        role=API, actor_id=key.key_id, actor_label=f"API key {key.name}", tenant_id=key.tenant_id
    )


# Rate limits: one token per request from the key's bucket (see the module docstring) -------

MICROS = 1_000_000
USAGE_DAYS_KEPT = 9  # the page shows 7; two more cover clocks and time zones at the edges
_MAX_ROUNDS = 6
_HINTS_KEPT = 10_000
# key_id -> the last `tat` this process saw: a guess of the region to try first, nothing more.
_last_tat: dict[str, int] = {}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int  # the bucket's capacity: the most requests that may pass at once
    remaining: int  # whole tokens left after this request
    reset_seconds: int  # until the bucket is full again (Remaining == Limit)
    retry_after: int  # until the next request can pass; 0 while tokens remain


@dataclass(frozen=True)
class _Bucket:
    interval: int  # µs for one token to come back
    capacity: int

    @property
    def tolerance(self) -> int:
        return (self.capacity - 1) * self.interval

    def room_for(self, tokens: int) -> int:
        """How far ahead of now `tat` may be for `tokens` tokens to be taken at once."""
        return (self.capacity - tokens) * self.interval


def _bucket() -> _Bucket:
    per_minute = max(1, settings.API_RATE_LIMIT_PER_MINUTE)
    # Rounded up so that rounding never lets more than PER_MINUTE a minute through.
    interval = -(-60 * MICROS // per_minute)
    return _Bucket(interval=interval, capacity=per_minute + max(0, settings.API_RATE_LIMIT_BURST))


def _expiry(tat: int) -> datetime:
    # Once `tat` has passed the item says no more than a missing one (a full bucket).
    return datetime.fromtimestamp(tat / MICROS, tz=UTC) + timedelta(minutes=5)


def _conditional_update(item: RateLimitCounter, actions: list, condition) -> bool:
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _try_idle(item: RateLimitCounter, now: int, bucket: _Bucket, tokens: int = 1) -> int | None:
    tat = now + tokens * bucket.interval
    taken = _conditional_update(
        item,
        [RateLimitCounter.tat.set(tat), RateLimitCounter.expires_at.set(_expiry(tat))],
        RateLimitCounter.tat.does_not_exist() | (RateLimitCounter.tat <= now),
    )
    return tat if taken else None


def _try_active(item: RateLimitCounter, now: int, bucket: _Bucket, tokens: int = 1) -> int | None:
    # The expiry is set from the largest `tat` this update can produce, so it never lags behind.
    latest = now + bucket.tolerance + bucket.interval
    taken = _conditional_update(
        item,
        [
            RateLimitCounter.tat.add(tokens * bucket.interval),
            RateLimitCounter.expires_at.set(_expiry(latest)),
        ],
        (RateLimitCounter.tat > now) & (RateLimitCounter.tat <= now + bucket.room_for(tokens)),
    )
    return int(item.tat) if taken else None


def _remember(key_id: str, tat: int) -> None:
    if len(_last_tat) >= _HINTS_KEPT:
        _last_tat.clear()
    _last_tat[key_id] = tat


def _seconds(micros: int) -> int:
    return max(0, math.ceil(micros / MICROS))


def take(key_id: str, tokens: int = 1, *, count_use: bool = True) -> Decision:
    """Take `tokens` tokens from the key's bucket (one per request; receivers charge more for more
    work, never more than the bucket holds): whether this request may go ahead, and the figures
    for the X-RateLimit-* and Retry-After headers. `API_RATE_LIMIT_PER_MINUTE=0` turns limits off.
    `count_use=False` for a further charge on a request already counted on the usage row."""
    if settings.API_RATE_LIMIT_PER_MINUTE <= 0:
        # Limits off still counts the request: the keys page's usage figures must not go blank.
        if count_use:
            record_use(key_id, limited=False)
        return Decision(allowed=True, limit=0, remaining=0, reset_seconds=0, retry_after=0)
    bucket = _bucket()
    tokens = min(max(1, tokens), bucket.capacity)
    room = bucket.room_for(tokens)
    now = int(clock.now().timestamp() * MICROS)
    item = RateLimitCounter(token_bucket(key_id))
    guess = _last_tat.get(key_id)
    tat: int | None = None
    for _round in range(_MAX_ROUNDS):
        if guess is None or guess <= now:
            tat = _try_idle(item, now, bucket, tokens)
        elif guess <= now + room:
            tat = _try_active(item, now, bucket, tokens)
        else:
            tat = None
        if tat is not None:
            break
        stored = stored_tat(item.bucket)
        if stored is not None and stored > now + room:
            _remember(key_id, stored)
            decision = Decision(
                allowed=False,
                limit=bucket.capacity,
                remaining=max(0, bucket.capacity - math.ceil((stored - now) / bucket.interval)),
                reset_seconds=_seconds(stored - now),
                retry_after=max(1, _seconds(stored - now - room)),
            )
            if count_use:
                record_use(key_id, limited=True)
            return decision
        guess = stored
    if tat is None:
        # Only a bucket flipping region on every round gets here (time moving under a heavy
        # burst); answering "wait a second" is the safe side.
        if count_use:
            record_use(key_id, limited=True)
        return Decision(False, bucket.capacity, 0, 1, 1)
    _remember(key_id, tat)
    used = math.ceil((tat - now) / bucket.interval)
    remaining = max(0, bucket.capacity - used)
    if count_use:
        record_use(key_id, limited=False)
    return Decision(
        allowed=True,
        limit=bucket.capacity,
        remaining=remaining,
        reset_seconds=_seconds(tat - now),
        retry_after=0 if remaining else max(1, _seconds(tat - now - bucket.tolerance)),
    )


# Requests per key per day ---------------------------------------------------------------


def record_use(key_id: str, *, limited: bool) -> None:
    """Count one request of the key today (atomic ADD: concurrent requests never lose a count)."""
    moment = clock.now()
    actions = [
        RateLimitCounter.count.add(1),
        RateLimitCounter.last_at.set(moment),
        RateLimitCounter.expires_at.set(moment + timedelta(days=USAGE_DAYS_KEPT)),
    ]
    if limited:
        actions.append(RateLimitCounter.limited.add(1))
    RateLimitCounter(usage_bucket(key_id, moment.date())).update(actions=actions)
