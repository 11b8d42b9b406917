"""What of a tenant the apikeys area keeps, for staff's export and erase (dashboard.operations.erasure):
its keys, and each key's token bucket and requests per day in `rate-limits` (found through the keys,
so they go first)."""

from __future__ import annotations

from collections.abc import Callable

from dashboard.accounts.models import RateLimitCounter
from dashboard.apikeys.models import ApiKey
from dashboard.dynamo.erase import TenantTable


def _buckets_of_tenant(tenant_id: str) -> Callable[[dict], bool]:
    keys = {key.key_id for key in ApiKey.by_tenant.query(tenant_id)}
    # `api:<key_id>` and `api-usage:<key_id>:<day>` (dashboard.apikeys.models)
    return lambda raw: raw["bucket"]["S"].split(":")[1] in keys


def tenant_tables() -> list[TenantTable]:
    return [
        TenantTable(
            "api-key-usage",
            RateLimitCounter,
            lambda t: RateLimitCounter.bucket.startswith("api"),
            _buckets_of_tenant,
        ),
        TenantTable("api-keys", ApiKey, lambda t: ApiKey.tenant_id == t),
    ]
