"""Alert rules, the tenant's delivery channels, firings (the once-only claims) and notifications."""

import json

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
    "metric": "A metric over a warning or critical level",
}
WINDOWS = {"day": "in a day (UTC)", "month": "in a month (UTC)"}
# Metric rules: a calendar period, or a rolling window ending now: of whole UTC days ending today
# (the daily rollups), or of whole UTC hours (the hourly rollups, kept a few days): "1h" is this hour
# so far and the one before, "24h" this hour and the 24 before, so each holds at least its last 1 or
# 24 hours (the oldest hour whole: up to one hour more).
METRIC_WINDOWS = {
    "1h": "the last hour (rolling)",
    "24h": "the last 24 hours (rolling)",
    "day": "this calendar day (UTC)",
    "month": "this calendar month (UTC)",
    "7d": "the last 7 days (rolling)",
    "30d": "the last 30 days (rolling)",
}
ROLLING_DAYS = {"7d": 7, "30d": 30}
ROLLING_HOURS = {"1h": 1, "24h": 24}
# name: (label, unit shown, how a stored level reads). Levels are stored as integers in the unit:
# micro-USD, executions, hundredths of a percent, milliseconds.
METRICS = {
    "cost": "Cost",
    "executions": "Executions",
    "error_rate": "Error rate",
    "p95_ms": "p95 latency",
}
# What a rule watches. Environment and tag come with issue #28: a scope is a (dimension, value)
# pair read through analytics.queries.window_totals, so adding them is two entries here and there.
SCOPES = {
    "tenant": "the whole tenant",
    "agent": "an agent",
    "model": "a model",
    "user": "a user",
    "environment": "an environment",
    "tag": "a tag",
}
NO_DATA = {
    "ok": "treat as fine (resolves an open alert)",
    "keep": "keep the alert as it is",
    "alert": "alert: no data is a problem",
}
LEVELS = {"warning": 1, "critical": 2, "nodata": 1}
REARM = "budget-rearm"  # AlertState key prefix: approved budget increases of a month (max_level = count)
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
    # metric rules
    metric = UnicodeAttribute(null=True)
    scope = UnicodeAttribute(null=True)  # SCOPES; `subject` is its value, "" = each one
    warning = NumberAttribute(null=True)  # in the metric's unit (METRICS)
    critical = NumberAttribute(null=True)
    no_data = UnicodeAttribute(null=True)
    renotify_minutes = NumberAttribute(null=True)  # while still over: remind after this long; 0/None never
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()


class AlertChannel(DynamoModel):
    """Where a tenant's alerts go besides the dashboard: a signed webhook, a Slack incoming webhook,
    a Microsoft Teams Workflows webhook and one email address."""

    Meta = table_meta("alert-channels")
    tenant_id = UnicodeAttribute(hash_key=True)
    webhook_url = UnicodeAttribute(default="")
    webhook_secret = UnicodeAttribute(default="")
    # While a secret is rotated the previous one keeps signing too (Standard Webhooks carries several
    # signatures), until then: receivers switch secrets at their pace without dropping a delivery.
    webhook_previous_secret = UnicodeAttribute(null=True)
    webhook_previous_until = UnicodeAttribute(null=True)
    slack_url = UnicodeAttribute(default="")
    teams_url = UnicodeAttribute(default="")
    email = UnicodeAttribute(default="")
    # The address receives alerts only once someone there followed the link sent to it
    # (dashboard.alerts.services, "confirming an address"): no mail to addresses nobody confirmed.
    email_confirmed_at = UnicodeAttribute(null=True)
    email_token_hash = UnicodeAttribute(null=True)  # sha256 of the link's secret, until used
    email_token_expires = UnicodeAttribute(null=True)
    version = VersionAttribute()


class AlertState(DynamoModel):
    """Where a metric rule stands for one subject: the highest level notified in the current period
    (calendar) or episode (rolling), whether it is open, and when it last notified. Every change is a
    conditional write in one transaction with the firing it causes: concurrent evaluators fire once."""

    Meta = table_meta("alert-states")
    tenant_id = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)  # rule_id#subject
    period = UnicodeAttribute()  # the calendar period, or "rolling"
    max_level = NumberAttribute(default=0)  # LEVELS' rank
    active = BooleanAttribute(default=False)
    since = UnicodeAttribute()  # when the open episode began
    notified_at = UnicodeAttribute()


class Attempt(MapAttribute):
    at = UnicodeAttribute()
    channel = UnicodeAttribute()  # notification | webhook | slack | teams | email
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
    level = UnicodeAttribute(null=True)  # metric rules: warning | critical | nodata | resolved
    metric = UnicodeAttribute(null=True)  # metric rules: cost | executions | error_rate | p95_ms
    value = NumberAttribute(null=True)  # in the metric's unit (METRICS)
    limit = NumberAttribute(null=True)
    drivers = UnicodeAttribute(null=True)  # JSON: why the number moved (evaluation.drivers)
    fired_at = UnicodeAttribute()
    pending = UnicodeAttribute(null=True)
    notification_state = UnicodeAttribute(default=PENDING)
    webhook_state = UnicodeAttribute(default=PENDING)
    email_state = UnicodeAttribute(default=PENDING)
    slack_state = UnicodeAttribute(default=PENDING)
    teams_state = UnicodeAttribute(default=PENDING)
    slack_attempts = NumberAttribute(default=0)
    teams_attempts = NumberAttribute(default=0)
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

    def drivers_dict(self) -> dict | None:
        return json.loads(self.drivers) if self.drivers else None


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


class OpenBudgetRequests(GlobalSecondaryIndex):
    """Sparse: only requests waiting for staff carry `open` (staff's queue, oldest first)."""

    class Meta:
        index_name = "open-asked_at-index"
        projection = AllProjection()

    open = UnicodeAttribute(hash_key=True)
    asked_at = UnicodeAttribute(range_key=True)


BUDGET_REQUEST_STATES = {"pending": "waiting for staff", "approved": "approved", "refused": "refused"}


class BudgetRequest(DynamoModel):
    """A tenant admin's request for a higher monthly budget, and staff's decision on it."""

    Meta = table_meta("budget-requests")
    tenant_id = UnicodeAttribute(hash_key=True)
    request_id = UnicodeAttribute(range_key=True)  # time-ordered id: the tenant's newest last
    amount_micro_usd = NumberAttribute()  # asked for
    current_micro_usd = NumberAttribute(null=True)  # the budget when asked
    reason = UnicodeAttribute()
    status = UnicodeAttribute(default="pending")
    asked_by = UnicodeAttribute()
    asked_by_email = UnicodeAttribute()
    asked_at = UnicodeAttribute()
    open = UnicodeAttribute(null=True)  # "open" while pending (the staff queue's sparse index)
    decided_by = UnicodeAttribute(null=True)
    decided_at = UnicodeAttribute(null=True)
    approved_micro_usd = NumberAttribute(null=True)
    decision_reason = UnicodeAttribute(null=True)
    version = VersionAttribute()
    open_index = OpenBudgetRequests()
