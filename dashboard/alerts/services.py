"""State changes of the alerts area: rules (versioned, audited), the tenant's channels, reading notifications."""

from __future__ import annotations

import base64
import secrets

from dashboard.alerts import queries
from dashboard.alerts.inputs import RuleInput, clean_email, clean_rule, clean_webhook_url
from dashboard.alerts.models import AlertChannel, AlertRule, Notification
from dashboard.analytics.inputs import resolve_tenant
from dashboard.audit import services as audit
from dashboard.core import clock
from dashboard.core.errors import Conflict, ValidationFailed
from dashboard.core.ids import new_id
from dashboard.core.scope import AccessScope, Can
from dashboard.dynamo.transactions import commit, save_together

MAX_RULES = 50


def tenant_for(scope: AccessScope, requested: str | None = None) -> str:
    """The one tenant whose alerts a page shows: its own for an admin, the focused one for staff."""
    scope.require(Can.TENANT_PAGES)
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
    }


def _apply(rule: AlertRule, value: RuleInput) -> None:
    rule.name = value.name
    rule.kind = value.kind
    rule.thresholds = list(value.thresholds) or None
    rule.subject = value.subject
    rule.limit_micro_usd = value.limit_micro_usd
    rule.window = value.window
    rule.enabled = value.enabled
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
    changes = {name: [before[name], after[name]] for name in after if before[name] != after[name]}
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


def save_channel(
    scope: AccessScope,
    tenant_id: str | None,
    webhook_url: str,
    email: str,
    expected_version: int | None,
    new_secret: bool = False,
) -> AlertChannel:
    """The webhook URL and email address of the tenant's alerts; a secret is made with the first webhook."""
    tenant_id = tenant_for(scope, tenant_id)
    errors = {}
    try:
        webhook_url = clean_webhook_url(webhook_url)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    try:
        email = clean_email(email)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationFailed("The delivery settings are not valid; nothing was saved.", errors)
    channel = queries.channel(tenant_id)
    if expected_version is not None and (channel.version or 0) != expected_version:
        raise Conflict("Someone else changed the delivery settings meanwhile. Review them and save again.")
    before = {"webhook_url": channel.webhook_url, "email": channel.email}
    channel.webhook_url = webhook_url
    channel.email = email
    rotated = False
    if webhook_url and (new_secret or not channel.webhook_secret):
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
    return channel


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
