"""Reading API keys and their use: one key, a tenant's keys, requests per day."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from pynamodb.exceptions import DoesNotExist

from dashboard.accounts.models import RateLimitCounter
from dashboard.apikeys.models import ApiKey, usage_bucket
from dashboard.core import clock
from dashboard.core.errors import NotFound
from dashboard.core.scope import STAFF, AccessScope

# Key ids are ours (`key_` + a ULID); anything else is refused before it could reach DynamoDB,
# whose key limit (2,048 bytes) a client could otherwise overrun.
KEY_ID_PATTERN = re.compile(r"[a-z]{1,10}_[0-9a-z]{1,40}")


def get_key(scope: AccessScope, key_id: str) -> ApiKey:
    """Staff: one key (one GetItem; none for an id we could not have minted)."""
    scope.require_role(STAFF)
    if not KEY_ID_PATTERN.fullmatch(key_id):
        raise NotFound("That API key was not found.")
    try:
        return ApiKey.get(key_id)
    except DoesNotExist:
        raise NotFound("That API key was not found.") from None


def list_keys(scope: AccessScope, tenant_id: str) -> list[ApiKey]:
    """Staff: a tenant's keys, newest first (one query, at most 100 keys)."""
    scope.require_role(STAFF)
    return list(ApiKey.by_tenant.query(tenant_id, scan_index_forward=False, limit=100))


@dataclass(frozen=True)
class Usage:
    days: list[tuple[date, int]]  # oldest first, 7 entries
    requests: int
    limited: int
    last_at: datetime | None  # the latest request within the 7 days


def usage_last_7_days(key_ids: list[str]) -> dict[str, Usage]:
    """Each key's requests per day over the last 7 days (today included).

    DynamoDB calls: one BatchGetItem per 100 rows, i.e. ceil(7 × keys / 100) (PynamoDB's
    batch_get pages and retries unprocessed keys itself).
    """
    today = clock.now().date()
    days = [today - timedelta(days=back) for back in range(6, -1, -1)]
    wanted = [usage_bucket(key_id, day) for key_id in key_ids for day in days]
    found = {row.bucket: row for row in RateLimitCounter.batch_get(wanted)} if wanted else {}
    usage = {}
    for key_id in key_ids:
        rows = [found.get(usage_bucket(key_id, day)) for day in days]
        usage[key_id] = Usage(
            days=[(day, int(row.count) if row else 0) for day, row in zip(days, rows, strict=True)],
            requests=sum(int(row.count) for row in rows if row),
            limited=sum(int(row.limited or 0) for row in rows if row),
            last_at=max((row.last_at for row in rows if row and row.last_at), default=None),
        )
    return usage


def find_key(key_id: str) -> ApiKey | None:
    """A key by its id, whoever asks (turning a bearer token into a scope): one GetItem."""
    try:
        return ApiKey.get(key_id)
    except DoesNotExist:
        return None


def stored_tat(bucket_key: str) -> int | None:
    """A token bucket's theoretical arrival time (GCRA), None when it has none: one consistent GetItem."""
    try:
        return int(RateLimitCounter.get(bucket_key, consistent_read=True).tat or 0) or None
    except DoesNotExist:
        return None
