"""State changes of the alerts area: rules (versioned, audited), the tenant's channels, reading notifications."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import timedelta

from pynamodb.exceptions import UpdateError

from dashboard.accounts.queries import get_tenant
from dashboard.alerts import delivery, queries
from dashboard.alerts.inputs import MAX_LIMIT_MICRO_USD, RuleInput, clean_email, clean_rule, clean_webhook_url
from dashboard.alerts.models import REARM, AlertChannel, AlertRule, AlertState, BudgetRequest, Notification
from dashboard.analytics.inputs import resolve_tenant
from dashboard.analytics.services import set_budget
from dashboard.audit import services as audit
from dashboard.core import clock
from dashboard.core.errors import Conflict, NotFound, ValidationFailed
from dashboard.core.ids import new_id
from dashboard.core.money import money
from dashboard.core.scope import TENANT_ADMIN, AccessScope, Can
from dashboard.dynamo.transactions import commit, save_together

MAX_RULES = 50


def tenant_for(scope: AccessScope, requested: str | None = None) -> str:
    """The one tenant whose alerts a page or API call works on: its own for an admin or an API key,
    the focused one for staff."""
    scope.require(Can.TENANT_DATA)
    tenant_id = resolve_tenant(scope, requested)
    if tenant_id is None:
        raise ValidationFailed("Choose a tenant first (tenant switcher at the top).")
    return tenant_id


def _rule_changes(rule: AlertRule) -> dict:
    return {
        "name": rule.name,
        "kind": rule.kind,
        "thresholds": list(rule.thresholds or []),
        "subject": rule.subject,
        "limit_micro_usd": rule.limit_micro_usd,
        "window": rule.window,
        "enabled": rule.enabled,
        **(
            {
                "metric": rule.metric,
                "scope": rule.scope,
                "warning": rule.warning,
                "critical": rule.critical,
                "no_data": rule.no_data,
                "renotify_minutes": rule.renotify_minutes,
            }
            if rule.kind == "metric"
            else {}
        ),
    }


def _apply(rule: AlertRule, value: RuleInput) -> None:
    rule.name = value.name
    rule.kind = value.kind
    rule.thresholds = list(value.thresholds) or None
    rule.subject = value.subject
    rule.limit_micro_usd = value.limit_micro_usd
    rule.window = value.window
    rule.enabled = value.enabled
    metric = value.kind == "metric"
    rule.metric = value.metric if metric else None
    rule.scope = value.scope if metric else None
    rule.warning = value.warning if metric else None
    rule.critical = value.critical if metric else None
    rule.no_data = value.no_data if metric else None
    rule.renotify_minutes = value.renotify_minutes if metric else None
    rule.updated_at = clock.iso_ms(clock.now())


def create_rule(scope: AccessScope, tenant_id: str | None, raw: RuleInput) -> AlertRule:
    tenant_id = tenant_for(scope, tenant_id)
    value = clean_rule(raw)
    if len(queries.rules(tenant_id)) >= MAX_RULES:
        raise ValidationFailed(f"A tenant can have up to {MAX_RULES} alert rules; delete one first.")
    now = clock.iso_ms(clock.now())
    rule = AlertRule(tenant_id=tenant_id, rule_id=new_id("rul"), created_at=now)
    _apply(rule, value)
    event = audit.build_event(
        scope,
        "alert_rule.create",
        "alert_rule",
        rule.rule_id,
        tenant_id=tenant_id,
        changes=_rule_changes(rule),
    )
    save_together([rule, event], "This rule was created meanwhile.")
    return rule


def update_rule(
    scope: AccessScope, tenant_id: str | None, rule_id: str, raw: RuleInput, expected_version: int | None
) -> AlertRule:
    """The loser of two simultaneous edits gets Conflict (the rule's version condition)."""
    tenant_id = tenant_for(scope, tenant_id)
    value = clean_rule(raw)
    rule = queries.rule(tenant_id, rule_id)
    if expected_version is not None and rule.version != expected_version:
        raise Conflict(_stale(rule))
    before = _rule_changes(rule)
    _apply(rule, value)
    after = _rule_changes(rule)
    changes = {
        name: [before.get(name), after.get(name)]
        for name in {**before, **after}
        if before.get(name) != after.get(name)
    }
    event = audit.build_event(
        scope, "alert_rule.update", "alert_rule", rule_id, tenant_id=tenant_id, changes=changes
    )
    try:
        save_together([rule, event], "")
    except Conflict:
        raise Conflict(_stale(queries.rule(tenant_id, rule_id))) from None
    return rule


def delete_rule(
    scope: AccessScope, tenant_id: str | None, rule_id: str, expected_version: int | None
) -> None:
    tenant_id = tenant_for(scope, tenant_id)
    rule = queries.rule(tenant_id, rule_id)
    if expected_version is not None and rule.version != expected_version:
        raise Conflict(_stale(rule))
    event = audit.build_event(
        scope, "alert_rule.delete", "alert_rule", rule_id, tenant_id=tenant_id, changes=_rule_changes(rule)
    )

    def build(tx) -> None:
        tx.delete(AlertRule(tenant_id, rule_id, version=rule.version))  # PynamoDB adds the version condition
        tx.save(event)

    commit(build, _stale(rule))


def _stale(rule: AlertRule) -> str:
    return f"Someone else changed the rule “{rule.name}” meanwhile. Review it as it is now and save again."


ROTATION_HOURS = 24  # how long the previous webhook secret keeps signing after a new one is made


def save_channel(
    scope: AccessScope,
    tenant_id: str | None,
    webhook_url: str,
    email: str,
    expected_version: int | None,
    new_secret: bool = False,
    slack_url: str | None = None,
    teams_url: str | None = None,
) -> AlertChannel:
    """The webhook, Slack and Teams URLs and email address of the tenant's alerts; a secret is made
    with the first webhook. `None` for Slack or Teams keeps what is saved. Every URL passes the same
    checks as at send time (public address, allowed port, no userinfo)."""
    tenant_id = tenant_for(scope, tenant_id)
    errors = {}
    urls = {"webhook_url": webhook_url, "slack_url": slack_url, "teams_url": teams_url}
    for field, url in urls.items():
        if url is None:
            continue
        try:
            urls[field] = clean_webhook_url(url, field)
        except ValidationFailed as exc:
            errors.update(exc.fields)
    webhook_url = urls["webhook_url"]
    try:
        email = clean_email(email)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationFailed("The delivery settings are not valid; nothing was saved.", errors)
    channel = queries.channel(tenant_id)
    if expected_version is not None and (channel.version or 0) != expected_version:
        raise Conflict("Someone else changed the delivery settings meanwhile. Review them and save again.")
    before = {
        "webhook_url": channel.webhook_url,
        "slack_url": channel.slack_url,
        "teams_url": channel.teams_url,
        "email": channel.email,
    }
    channel.webhook_url = webhook_url
    for field in ("slack_url", "teams_url"):
        if urls[field] is not None:
            setattr(channel, field, urls[field])
    token = None
    if email != channel.email:  # a new address waits for its confirmation; none, nothing to confirm
        channel.email_confirmed_at = None
        token = _new_confirmation(channel) if email else None
        if not email:
            channel.email_token_hash = channel.email_token_expires = None
    channel.email = email
    rotated = False
    if webhook_url and (new_secret or not channel.webhook_secret):
        if channel.webhook_secret:  # the old one keeps signing beside the new for a while
            channel.webhook_previous_secret = channel.webhook_secret
            channel.webhook_previous_until = clock.iso_ms(clock.now() + timedelta(hours=ROTATION_HOURS))
        # Standard Webhooks' form: whsec_ + base64 of the key (32 random bytes).
        channel.webhook_secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        rotated = True
    changes = {
        name: [before[name], getattr(channel, name)]
        for name in before
        if before[name] != getattr(channel, name)
    }
    if rotated:
        changes["webhook_secret"] = ["…", "new secret"]  # the secret itself never goes in the trail
    event = audit.build_event(
        scope, "alert_channel.update", "alert_channel", tenant_id, tenant_id=tenant_id, changes=changes
    )
    save_together(
        [channel, event], "Someone else changed the delivery settings meanwhile. Review them and save again."
    )
    if token:
        delivery.send_confirmation(channel.email, token)
    return channel


# --- confirming an address: alerts go by e-mail only to an address someone there confirmed ------
#
# Saving an address sends it a link holding `<tenant>.<secret>`; only the secret's sha256 is kept,
# for CONFIRM_DAYS. Following the link (no sign-in: the recipient may have no account) and pressing
# Confirm marks the address confirmed, once: the token is removed on condition it is still the one.


def _new_confirmation(channel: AlertChannel) -> str:
    secret = secrets.token_urlsafe(32)
    channel.email_token_hash = hashlib.sha256(secret.encode()).hexdigest()
    channel.email_token_expires = clock.iso_ms(clock.now() + timedelta(days=delivery.CONFIRM_DAYS))
    return f"{channel.tenant_id}.{secret}"


BAD_LINK = "This confirmation link is not valid any more: ask for a new one on the alerts page."


def confirm_email(token: str) -> AlertChannel:
    """Mark the address the link was sent to as confirmed (ValidationFailed: a wrong, used or old link)."""
    tenant_id, _, secret = (token or "").rpartition(".")
    if not tenant_id or not secret or len(token) > 400:
        raise ValidationFailed(BAD_LINK)
    try:
        channel = queries.channel(tenant_id)
    except NotFound:
        raise ValidationFailed(BAD_LINK) from None
    digest = hashlib.sha256(secret.encode()).hexdigest()
    if (
        not channel.email
        or not channel.email_token_hash
        or not hmac.compare_digest(channel.email_token_hash, digest)
        or (channel.email_token_expires or "") < clock.iso_ms(clock.now())
    ):
        raise ValidationFailed(BAD_LINK)
    try:
        channel.update(
            actions=[
                AlertChannel.email_confirmed_at.set(clock.iso_ms(clock.now())),
                AlertChannel.email_token_hash.remove(),
                AlertChannel.email_token_expires.remove(),
            ],
            condition=(AlertChannel.email_token_hash == digest) & (AlertChannel.email == channel.email),
        )
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise ValidationFailed(BAD_LINK) from None
        raise
    return channel


def send_confirmation_again(scope: AccessScope, tenant_id: str | None) -> AlertChannel:
    """A new link to the address not yet confirmed (the old link stops working)."""
    tenant_id = tenant_for(scope, tenant_id)
    channel = queries.channel(tenant_id)
    if not channel.email or channel.email_confirmed_at:
        raise ValidationFailed("There is no address waiting for its confirmation.")
    token = _new_confirmation(channel)
    channel.save()
    delivery.send_confirmation(channel.email, token)
    return channel


CHANNELS = {"webhook": "Webhook", "slack": "Slack", "teams": "Microsoft Teams"}


def send_test(scope: AccessScope, tenant_id: str | None, name: str) -> delivery.Outcome:
    """Post a sample alert to one saved channel now and say what the receiver answered."""
    tenant_id = tenant_for(scope, tenant_id)
    if name not in CHANNELS:
        raise NotFound("There is no such channel.")
    return delivery.send_test(queries.channel(tenant_id), name)


def mark_all_read(scope: AccessScope, tenant_id: str | None) -> int:
    """Removes the sparse `unread_tenant` from each unread notification (bounded: a page at a time)."""
    tenant_id = tenant_for(scope, tenant_id)
    now = clock.iso_ms(clock.now())
    done = 0
    for note in queries.unread_notifications(tenant_id):
        Notification(tenant_id, note.sk).update(
            actions=[Notification.unread_tenant.remove(), Notification.read_at.set(now)],
            condition=Notification.sk.exists(),
        )
        done += 1
    return done


# --- budget increase requests: a tenant admin asks, staff approve or refuse ------------------------
#
# Asking writes the request (sparse `open` set: staff's queue) with its audit event. Deciding is
# staff's: approving first sets the new budget (analytics, audited as budget.set), then in one
# transaction marks the request decided (condition: still the version staff saw, still pending),
# writes the decision's audit event and counts one more approved increase for the month, which
# re-arms the tenant's budget thresholds against the new amount (evaluation: the claim keys carry
# the count). Refusing needs a reason. Either way the tenant is told: a dashboard notification, and
# an e-mail to the admin who asked.

MAX_REASON = 1000
MAX_OPEN_REQUESTS = 1  # one request waits at a time per tenant


def _reason(text: str, field: str = "reason") -> str:
    text = " ".join((text or "").split())
    if not 3 <= len(text) <= MAX_REASON:
        raise ValidationFailed(
            "Say why, in a few words.", {field: f"Give a reason of 3 to {MAX_REASON} characters."}
        )
    return text


def ask_budget_increase(scope: AccessScope, amount_micro_usd: int | None, reason: str) -> BudgetRequest:
    scope.require_role(TENANT_ADMIN)
    tenant_id = tenant_for(scope)
    errors = {}
    current = get_tenant(tenant_id).monthly_budget_micro_usd
    if amount_micro_usd is None or not 0 < amount_micro_usd <= MAX_LIMIT_MICRO_USD:
        errors["amount"] = "Enter the monthly budget you need, in dollars."
    elif current and amount_micro_usd <= current:
        errors["amount"] = f"Ask for more than the current budget of {money(current)}."
    try:
        reason = _reason(reason)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationFailed("The request is not valid; nothing was sent.", errors)
    if any(request.status == "pending" for request in queries.budget_requests(tenant_id, limit=10)):
        raise ValidationFailed("A request is already waiting for staff: wait for their answer.")
    now = clock.iso_ms(clock.now())
    request = BudgetRequest(
        tenant_id=tenant_id,
        request_id=new_id("bgr"),
        amount_micro_usd=amount_micro_usd,
        current_micro_usd=current,
        reason=reason,
        asked_by=scope.actor_id,
        asked_by_email=scope.actor_label,
        asked_at=now,
        open="open",
    )
    event = audit.build_event(
        scope,
        "budget_request.ask",
        "budget_request",
        request.request_id,
        tenant_id=tenant_id,
        changes={"amount_micro_usd": [current, amount_micro_usd], "reason": reason},
    )
    save_together([request, event], "This request was sent meanwhile.")
    return request


def decide_budget_request(
    scope: AccessScope,
    tenant_id: str,
    request_id: str,
    approve: bool,
    amount_micro_usd: int | None,
    reason: str,
    expected_version: int | None,
) -> BudgetRequest:
    scope.require(Can.RUN_PLATFORM)
    get_tenant(tenant_id)  # NotFound for a tenant that does not exist
    request = queries.budget_request(tenant_id, request_id)
    if request.status != "pending" or (expected_version is not None and request.version != expected_version):
        raise Conflict("Someone decided this request meanwhile. Review it as it is now.")
    if approve:
        amount_micro_usd = amount_micro_usd or int(request.amount_micro_usd)
        if not 0 < amount_micro_usd <= MAX_LIMIT_MICRO_USD:
            raise ValidationFailed(
                "The amount is not valid.", {"amount": "Enter an amount in dollars above $0."}
            )
        reason = " ".join((reason or "").split())[:MAX_REASON]
    else:
        reason = _reason(reason)
    now = clock.now()
    stamp = clock.iso_ms(now)
    if approve:
        set_budget(scope, tenant_id, amount_micro_usd, None)
    request.status = "approved" if approve else "refused"
    request.open = None
    request.decided_by = scope.actor_label
    request.decided_at = stamp
    request.approved_micro_usd = amount_micro_usd if approve else None
    request.decision_reason = reason
    event = audit.build_event(
        scope,
        "budget_request.approve" if approve else "budget_request.refuse",
        "budget_request",
        request_id,
        tenant_id=tenant_id,
        changes={
            "status": ["pending", request.status],
            "approved_micro_usd": [None, request.approved_micro_usd],
            "reason": reason,
        },
    )
    month = now.strftime("%Y-%m")

    def build(tx) -> None:
        tx.save(request)  # its version condition: nobody decided meanwhile
        tx.save(event)
        if approve:
            tx.update(
                AlertState(tenant_id=tenant_id, key=f"{REARM}#{month}"),
                actions=[
                    AlertState.max_level.add(1),
                    AlertState.period.set(month),
                    AlertState.since.set(stamp),
                    AlertState.notified_at.set(stamp),
                ],
            )

    commit(build, "Someone decided this request meanwhile. Review it as it is now.")
    delivery.tell_about_budget_request(request)
    return request
