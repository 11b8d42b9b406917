"""Tenants, users, sessions, API keys, the audit trail and login rate-limit counters."""

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection

from dashboard.dynamo.base import DynamoModel, table_meta

ROLES = ("staff", "tenant_admin", "moderator")


class TenantsByName(GlobalSecondaryIndex):
    class Meta:
        index_name = "kind-name-index"
        projection = AllProjection()

    kind = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute(range_key=True)


class Tenant(DynamoModel):
    """A customer organisation. `kind` is constant so the short list of tenants is one query."""

    Meta = table_meta("tenants")
    tenant_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    kind = UnicodeAttribute(default="tenant")
    plan = UnicodeAttribute(default="team")
    monthly_budget_micro_usd = NumberAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    version = VersionAttribute()
    by_name = TenantsByName()


class UsersByEmail(GlobalSecondaryIndex):
    class Meta:
        index_name = "email-index"
        projection = AllProjection()

    email = UnicodeAttribute(hash_key=True)


class UsersByTenant(GlobalSecondaryIndex):
    class Meta:
        index_name = "tenant_id-created_at-index"
        projection = AllProjection()

    tenant_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class UsersByRole(GlobalSecondaryIndex):
    """Lists staff and moderators, who belong to no tenant and so are absent from the tenant index."""

    class Meta:
        index_name = "role-created_at-index"
        projection = AllProjection()

    role = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class User(DynamoModel):
    Meta = table_meta("users")
    user_id = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute()
    name = UnicodeAttribute()
    role = UnicodeAttribute()
    tenant_id = UnicodeAttribute(null=True)  # staff and moderators belong to no tenant
    password = UnicodeAttribute()
    is_active = BooleanAttribute(default=True)
    created_at = UTCDateTimeAttribute()
    last_login_at = UTCDateTimeAttribute(null=True)
    version = VersionAttribute()
    by_email = UsersByEmail()
    by_tenant = UsersByTenant()
    by_role = UsersByRole()


class SessionsByUser(GlobalSecondaryIndex):
    class Meta:
        index_name = "user_id-index"
        projection = KeysOnlyProjection()

    user_id = UnicodeAttribute(hash_key=True)


class SessionItem(DynamoModel):
    Meta = table_meta("sessions")
    session_key = UnicodeAttribute(hash_key=True)
    data = UnicodeAttribute()
    user_id = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()
    by_user = SessionsByUser()


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


class AuditByActor(GlobalSecondaryIndex):
    class Meta:
        index_name = "actor_id-sk-index"
        projection = AllProjection()

    actor_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class AuditByMonth(GlobalSecondaryIndex):
    """Staff read every tenant's events month by month without a scan."""

    class Meta:
        index_name = "month-sk-index"
        projection = AllProjection()

    month = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class AuditEvent(DynamoModel):
    Meta = table_meta("audit-events")
    tenant_id = UnicodeAttribute(hash_key=True)  # "platform" for actions outside any tenant
    sk = UnicodeAttribute(range_key=True)  # ts#event_id
    event_id = UnicodeAttribute()
    ts = UTCDateTimeAttribute()
    month = UnicodeAttribute()
    actor_id = UnicodeAttribute()
    actor_label = UnicodeAttribute()
    action = UnicodeAttribute()
    target_type = UnicodeAttribute()
    target_id = UnicodeAttribute()
    changes = JSONAttribute(null=True)
    by_actor = AuditByActor()
    by_month = AuditByMonth()


class RateLimitCounter(DynamoModel):
    """A fixed-window failure counter (atomic ADD), gone when its window has passed.

    The same table holds each API key's token bucket (`api:<key_id>`, its state in `tat`, see
    dashboard/accounts/api_limits.py) and its requests per day (`api-usage:<key_id>:<day>`:
    `count`, `limited`, `last_at`).
    """

    Meta = table_meta("rate-limits")
    bucket = UnicodeAttribute(hash_key=True)
    count = NumberAttribute(default=0)
    expires_at = TTLAttribute()
    tat = NumberAttribute(null=True)  # token bucket: theoretical arrival time, epoch microseconds
    limited = NumberAttribute(null=True)  # usage rows: requests answered 429
    last_at = UTCDateTimeAttribute(null=True)  # usage rows: the day's latest request
