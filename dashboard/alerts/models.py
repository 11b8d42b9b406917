"""Alert rules, the tenant's delivery channels, firings (the once-only claims) and notifications."""

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from dashboard.dynamo.base import DynamoModel, table_meta

RULE_KINDS = {
    "budget": "Monthly budget thresholds",
    "forecast": "Forecast over budget",
    "agent_spend": "Spend of an agent over a limit",
    "user_spend": "Spend of a user over a limit",
}
WINDOWS = {"day": "in a day (UTC)", "month": "in a month (UTC)"}
PENDING = "pending"


class AlertRule(DynamoModel):
    Meta = table_meta("alert-rules")
    tenant_id = UnicodeAttribute(hash_key=True)
    rule_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    kind = UnicodeAttribute()
    thresholds = ListAttribute(of=NumberAttribute, null=True)  # budget: percents of the monthly budget
    subject = UnicodeAttribute(default="")  # agent or user id of a spend rule; "" = each of them
    limit_micro_usd = NumberAttribute(null=True)
    window = UnicodeAttribute(default="month")
    enabled = BooleanAttribute(default=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()


class AlertChannel(DynamoModel):
    """Where a tenant's alerts go besides the dashboard: one webhook and one email address."""

    Meta = table_meta("alert-channels")
    tenant_id = UnicodeAttribute(hash_key=True)
    webhook_url = UnicodeAttribute(default="")
    webhook_secret = UnicodeAttribute(default="")
    email = UnicodeAttribute(default="")
    # The address receives alerts only once someone there followed the link sent to it
    # (dashboard.alerts.services, "confirming an address"): no mail to addresses nobody confirmed.
    email_confirmed_at = UnicodeAttribute(null=True)
    email_token_hash = UnicodeAttribute(null=True)  # sha256 of the link's secret, until used
    email_token_expires = UnicodeAttribute(null=True)
    version = VersionAttribute()


class Attempt(MapAttribute):
    at = UnicodeAttribute()
    channel = UnicodeAttribute()  # notification | webhook | email
    outcome = UnicodeAttribute()  # delivered | failed
    detail = UnicodeAttribute(default="")


class PendingFirings(GlobalSecondaryIndex):
    """Sparse: only firings whose delivery is not finished carry `pending` (what run_alerts redelivers)."""

    class Meta:
        index_name = "pending-fired_at-index"
        projection = AllProjection()

    pending = UnicodeAttribute(hash_key=True)
    fired_at = UnicodeAttribute(range_key=True)


class FiringsByTime(GlobalSecondaryIndex):
    class Meta:
        index_name = "tenant_id-fired_at-index"
        projection = AllProjection()

    tenant_id = UnicodeAttribute(hash_key=True)
    fired_at = UnicodeAttribute(range_key=True)


class AlertFiring(DynamoModel):
    """The claim: written once, on condition that `key` (rule#period#threshold) does not exist yet.

    It carries the state of each delivery step, so a crash after the claim leaves a row that
    says what is still to do (`pending` set, step states not "done").
    """

    Meta = table_meta("alert-firings")
    tenant_id = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)  # rule_id#period#threshold[#subject]
    rule_id = UnicodeAttribute()
    rule_name = UnicodeAttribute()
    kind = UnicodeAttribute()
    period = UnicodeAttribute()
    threshold = UnicodeAttribute()
    subject = UnicodeAttribute(default="")
    value_micro_usd = NumberAttribute()
    limit_micro_usd = NumberAttribute()
    message = UnicodeAttribute()
    fired_at = UnicodeAttribute()
    pending = UnicodeAttribute(null=True)
    notification_state = UnicodeAttribute(default=PENDING)
    webhook_state = UnicodeAttribute(default=PENDING)
    email_state = UnicodeAttribute(default=PENDING)
    attempts = ListAttribute(of=Attempt, default=list)
    webhook_attempts = NumberAttribute(default=0)
    next_attempt_at = UnicodeAttribute(default="")
    lease_until = UnicodeAttribute(null=True)  # a deliverer holds the row until then (crash: it lapses)
    # An event of another area (`alerts.events.deliver_event`), not a rule's firing: its type
    # (`model_version.deployed`, …) and its data, sent as the webhook body's `data`.
    event_type = UnicodeAttribute(null=True)
    event_data = JSONAttribute(null=True)
    pending_index = PendingFirings()
    by_time = FiringsByTime()


class UnreadNotifications(GlobalSecondaryIndex):
    """Sparse: `unread_tenant` is removed when the notification is read, so counting is bounded."""

    class Meta:
        index_name = "unread_tenant-sk-index"
        projection = AllProjection()

    unread_tenant = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class Notification(DynamoModel):
    Meta = table_meta("alert-notifications")
    tenant_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)  # fired_at#firing key: newest last, one per firing
    firing_key = UnicodeAttribute()
    title = UnicodeAttribute()
    message = UnicodeAttribute()
    created_at = UnicodeAttribute()
    unread_tenant = UnicodeAttribute(null=True)
    read_at = UnicodeAttribute(null=True)
    unread = UnreadNotifications()
