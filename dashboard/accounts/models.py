"""Tenants, users, sessions, and the rate-limit counters (API keys and the audit trail have their
own areas: dashboard/apikeys/, dashboard/audit/)."""

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
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
    # Retention (days; unset = the defaults in dashboard.accounts.queries.DEFAULT_RETENTION): executions
    # (cost records), their inputs/outputs (no longer than the executions), run log lines.
    retention_executions_days = NumberAttribute(null=True)
    retention_content_days = NumberAttribute(null=True)
    retention_logs_days = NumberAttribute(null=True)
    # Up to 5 metadata keys whose values are counted as overview dimensions (issue #28 §2; analytics
    # stamps them on each execution when it is recorded: dashboard.analytics.services).
    metadata_dimensions = ListAttribute(of=UnicodeAttribute, null=True)
    # The job applying a shortened retention to stored items: status, phase, cursor, counts (resumable).
    retention_job = JSONAttribute(null=True)
    # Set in the transaction that starts erasing the tenant (dashboard.operations.erasure): from then on
    # its people cannot sign in, its sessions are refused and its API keys and OTLP ingestion get 403
    # (accounts.queries.tenant_being_erased, read once per request). The erase deletes the item last.
    erasing_job_id = UnicodeAttribute(null=True)
    erasing_since = UnicodeAttribute(null=True)  # ISO time the erase started
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


class UsersBySsoSubject(GlobalSecondaryIndex):
    """People who signed in through single sign-on, by `issuer#subject` (sparse)."""

    class Meta:
        index_name = "sso_subject-index"
        projection = AllProjection()

    sso_subject = UnicodeAttribute(hash_key=True)


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
    # Second factor (services: TOTP): the shared secret once confirmed, the last time step accepted
    # (a code is never taken twice), and the unused recovery codes' SHA-256 digests.
    totp_secret = UnicodeAttribute(null=True)
    totp_enabled_at = UTCDateTimeAttribute(null=True)
    totp_last_step = NumberAttribute(null=True)
    recovery_codes = UnicodeSetAttribute(null=True)
    # Single sign-on: the provider's `iss#sub`, set at the first SSO sign-in (matched by it, not e-mail).
    sso_subject = UnicodeAttribute(null=True)
    version = VersionAttribute()
    by_email = UsersByEmail()
    by_sso_subject = UsersBySsoSubject()
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
    # What the account page shows of each signed-in browser (copied from the session's data).
    signed_in_at = UTCDateTimeAttribute(null=True)
    agent = UnicodeAttribute(null=True)
    by_user = SessionsByUser()


class RateLimitCounter(DynamoModel):
    """A fixed-window failure counter (atomic ADD), gone when its window has passed.

    Accounts counts sign-in attempts here (`login:…`, see services.take_sign_in_attempt; `wait_until`
    slows a bucket past its limit down). The same table
    holds each API key's token bucket (`api:<key_id>`, its state in `tat`) and its requests per day
    (`api-usage:<key_id>:<day>`: `count`, `limited`, `last_at`), which dashboard/apikeys/ keeps:
    the one model another area may import (tests/test_layers.py).
    """

    Meta = table_meta("rate-limits")
    bucket = UnicodeAttribute(hash_key=True)
    count = NumberAttribute(default=0)
    expires_at = TTLAttribute()
    tat = NumberAttribute(null=True)  # token bucket: theoretical arrival time, epoch microseconds
    limited = NumberAttribute(null=True)  # usage rows: requests answered 429
    last_at = UTCDateTimeAttribute(null=True)  # usage rows: the day's latest request
    wait_until = NumberAttribute(null=True)  # sign-in buckets past their limit: next attempt, epoch ms


class InvitationsByOwner(GlobalSecondaryIndex):
    """A tenant's invitations (`owner` = tenant id; staff and moderator invitations: `platform`)."""

    class Meta:
        index_name = "owner-created_at-index"
        projection = AllProjection()

    owner = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class PendingInvitations(GlobalSecondaryIndex):
    """Every tenant's pending invitations for staff (sparse: only pending ones carry `pending`)."""

    class Meta:
        index_name = "pending-created_at-index"
        projection = AllProjection()

    pending = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class Invitation(DynamoModel):
    """An invitation to sign up with a given role (and tenant). The link carries a secret whose
    SHA-256 is kept here; it works once (status moves from `pending` under a condition) and until
    `expires_at`. The item itself goes a month later (TTL on `purge_at`)."""

    Meta = table_meta("invitations")
    invitation_id = UnicodeAttribute(hash_key=True)
    secret_hash = UnicodeAttribute()
    email = UnicodeAttribute()
    role = UnicodeAttribute()
    tenant_id = UnicodeAttribute(null=True)
    owner = UnicodeAttribute()
    invited_by = UnicodeAttribute()
    invited_by_label = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute()
    purge_at = TTLAttribute()
    status = UnicodeAttribute(default="pending")  # pending | accepted | revoked
    pending = UnicodeAttribute(null=True)
    accepted_user_id = UnicodeAttribute(null=True)
    version = VersionAttribute()
    by_owner = InvitationsByOwner()
    pending_index = PendingInvitations()


class SignInPolicy(DynamoModel):
    """Platform-wide sign-in rules staff set (one item, `policy_id` = "platform"): the roles that
    must use a second factor."""

    Meta = table_meta("sign-in-policy")
    policy_id = UnicodeAttribute(hash_key=True)
    totp_roles = UnicodeSetAttribute(null=True)
    sso_for_staff = BooleanAttribute(null=True)  # staff may not sign in with a password
    updated_at = UTCDateTimeAttribute(null=True)
    version = VersionAttribute()


class Passkey(DynamoModel):
    """A WebAuthn credential (passkey or security key) a person registered as a second factor. Keyed
    by its owner, so one query lists a person's passkeys and nobody else's can be named."""

    Meta = table_meta("passkeys")
    user_id = UnicodeAttribute(hash_key=True)
    credential_id = UnicodeAttribute(range_key=True)  # base64url, as the browser reports it
    public_key = UnicodeAttribute()  # base64url of the COSE key
    sign_count = NumberAttribute(default=0)  # raised only under a condition (services.verify_passkey)
    transports = UnicodeSetAttribute(null=True)
    name = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    last_used_at = UTCDateTimeAttribute(null=True)
