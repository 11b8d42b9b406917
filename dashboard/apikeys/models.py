"""API keys, and the keys of their rows in the shared `rate-limits` table.

The `rate-limits` table itself (`RateLimitCounter`) belongs to accounts, which counts sign-in
attempts in it; this area keeps each key's token bucket and requests per day there, under the keys
built below (tests/test_layers.py allows exactly that one import).
"""

from datetime import date

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from dashboard.dynamo.base import DynamoModel, table_meta


class ApiKeysByTenant(GlobalSecondaryIndex):
    class Meta:
        index_name = "tenant_id-created_at-index"
        projection = AllProjection()

    tenant_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class ApiKey(DynamoModel):
    """Only a SHA-256 of the secret is stored; the key itself is shown once at creation."""

    Meta = table_meta("api-keys")
    key_id = UnicodeAttribute(hash_key=True)
    key_hash = UnicodeAttribute()
    tenant_id = UnicodeAttribute()
    name = UnicodeAttribute()
    created_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    revoked_at = UTCDateTimeAttribute(null=True)
    last_used_at = UTCDateTimeAttribute(null=True)
    # The key stops working at this moment (401 "expired"); not a TTL: the row stays to say so.
    expires_on = UTCDateTimeAttribute(null=True)
    by_tenant = ApiKeysByTenant()


def token_bucket(key_id: str) -> str:
    """The key's token bucket in `rate-limits` (its state in `tat`)."""
    return f"api:{key_id}"


def usage_bucket(key_id: str, day: date) -> str:
    """The key's requests on a day in `rate-limits` (`count`, `limited`, `last_at`)."""
    return f"api-usage:{key_id}:{day.isoformat()}"
