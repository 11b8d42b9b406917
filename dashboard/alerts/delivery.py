"""Delivering a claimed firing: the dashboard notification, the signed webhook, the email.

Each step's state lives on the firing row (`notification_state`, `webhook_state`, `email_state`:
pending → done | failed | skipped) and every attempt is appended to its `attempts` log, which the
rules page shows. Deliveries run in the delivery worker (`manage.py run_alerts`, or its in-process
loop), never in an API request: the request only claims. A deliverer first takes a short lease on
the row (conditional update), so two deliverers never post the same firing at the same time; a
deliverer that crashes lets its lease lapse and the next `run_alerts` pass carries on where the row
says. The notification is written under a key derived from the firing (condition: not there yet),
so repeating that step cannot make a second one. A webhook whose POST succeeded but whose
"done" was never written (a crash in that instant) is posted again: receivers deduplicate on the
`webhook-id` header (the firing's key), which never changes between attempts.

Webhook: JSON body signed as Standard Webhooks (`webhook-id`, `webhook-timestamp`,
`webhook-signature`; webhooks.py, which also keeps the request off the platform's own network and
bounds it by a total deadline). A failed POST (no answer, or non-2xx) is retried by later passes
after ALERTS_RETRY_SECONDS × 2^(attempts−1), up to ALERTS_WEBHOOK_MAX_ATTEMPTS. Any failure of one
delivery is recorded on its row and never stops the pass.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from pynamodb.exceptions import PutError, UpdateError

from dashboard.alerts import queries, webhooks
from dashboard.alerts.models import PENDING, AlertFiring, Attempt, Notification
from dashboard.core import clock, monitoring

log = logging.getLogger(__name__)
LEASE_SECONDS = 60
DONE, FAILED, SKIPPED = "done", "failed", "skipped"
FINAL = (DONE, FAILED, SKIPPED)

TITLES = {
    "budget": "Budget threshold reached",
    "forecast": "Forecast over budget",
    "agent_spend": "Agent spend over limit",
    "user_spend": "User spend over limit",
}


def payload(firing: AlertFiring, sent_at: datetime) -> bytes:
    return json.dumps(
        {
            "id": firing.key,
            "type": f"alert.{firing.kind}",
            "tenant_id": firing.tenant_id,
            "rule": {"id": firing.rule_id, "name": firing.rule_name, "kind": firing.kind},
            "period": firing.period,
            "threshold": firing.threshold,
            "subject": firing.subject or None,
            "value_micro_usd": int(firing.value_micro_usd),
            "limit_micro_usd": int(firing.limit_micro_usd),
            "message": firing.message,
            "fired_at": firing.fired_at,
            "sent_at": clock.iso_ms(sent_at),
        },
        separators=(",", ":"),
    ).encode()


def _take_lease(firing: AlertFiring, now: datetime) -> bool:
    until = clock.iso_ms(now + timedelta(seconds=LEASE_SECONDS))
    try:
        firing.update(
            actions=[AlertFiring.lease_until.set(until)],
            condition=AlertFiring.pending.exists()
            & (AlertFiring.lease_until.does_not_exist() | (AlertFiring.lease_until < clock.iso_ms(now))),
        )
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False  # delivered meanwhile, or another deliverer holds it
        raise
    return True


def _log(firing: AlertFiring, channel: str, outcome: str, detail: str, *more) -> None:
    attempt = Attempt(at=clock.iso_ms(clock.now()), channel=channel, outcome=outcome, detail=detail[:300])
    monitoring.ALERT_DELIVERIES.labels(channel, outcome).inc()
    firing.update(actions=[AlertFiring.attempts.set(AlertFiring.attempts.append([attempt])), *more])


def _notify(firing: AlertFiring) -> None:
    note = Notification(
        tenant_id=firing.tenant_id,
        sk=f"{firing.fired_at}#{firing.key}",
        firing_key=firing.key,
        title=TITLES.get(firing.kind, "Alert"),
        message=firing.message,
        created_at=firing.fired_at,
        unread_tenant=firing.tenant_id,
    )
    try:
        note.save(condition=Notification.sk.does_not_exist())
        detail = "shown in the dashboard"
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        detail = "already shown in the dashboard"
    _log(firing, "notification", "delivered", detail, AlertFiring.notification_state.set(DONE))


def _webhook(firing: AlertFiring, url: str, secret: str, now: datetime) -> None:
    """One attempt. Whatever goes wrong is this delivery's failure, recorded on its row, never the
    caller's: the tenant's log says only "delivered", "the receiver answered an error" or "could not
    connect" (so it cannot be used to scan ports); the exact status or error goes to the server log."""
    if firing.next_attempt_at and firing.next_attempt_at > clock.iso_ms(now):
        return  # backing off
    attempts = int(firing.webhook_attempts or 0) + 1
    body = payload(firing, clock.now())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Diatonic-Alerts/2",
        **webhooks.signature_headers(secret, firing.key, body),
    }
    where = f"webhook {firing.key} of tenant {firing.tenant_id}"
    try:
        status = webhooks.post(url, body, headers)
    except webhooks.Refused as refused:
        # Checked again at send time: the name may resolve elsewhere now than when it was saved.
        log.warning("%s refused: %s", where, refused)
        _log(
            firing,
            "webhook",
            "failed",
            f"refused: {refused} Giving up.",
            AlertFiring.webhook_state.set(FAILED),
            AlertFiring.webhook_attempts.set(attempts),
        )
        return
    except Exception as exc:  # noqa: BLE001 — any failure of one delivery stays that delivery's
        log.warning("%s attempt %d: no answer: %s: %s", where, attempts, type(exc).__name__, exc)
        reason = "could not connect"
    else:
        if 200 <= status < 300:
            log.info("%s attempt %d: HTTP %d", where, attempts, status)
            _log(
                firing,
                "webhook",
                "delivered",
                f"the receiver accepted it (attempt {attempts})",
                AlertFiring.webhook_state.set(DONE),
                AlertFiring.webhook_attempts.set(attempts),
            )
            return
        log.warning("%s attempt %d: the receiver answered HTTP %d", where, attempts, status)
        reason = "the receiver answered an error"
    detail = f"{reason} (attempt {attempts})"
    if attempts >= settings.ALERTS_WEBHOOK_MAX_ATTEMPTS:
        _log(
            firing,
            "webhook",
            "failed",
            detail + "; giving up",
            AlertFiring.webhook_state.set(FAILED),
            AlertFiring.webhook_attempts.set(attempts),
        )
        return
    retry_at = now + timedelta(seconds=settings.ALERTS_RETRY_SECONDS * 2 ** (attempts - 1))
    _log(
        firing,
        "webhook",
        "failed",
        f"{detail}; next try after {clock.iso_ms(retry_at)}",
        AlertFiring.webhook_attempts.set(attempts),
        AlertFiring.next_attempt_at.set(clock.iso_ms(retry_at)),
    )


def _email(firing: AlertFiring, address: str) -> None:
    try:
        send_mail(
            f"[Diatonic] {TITLES.get(firing.kind, 'Alert')}: {firing.rule_name}",
            f"{firing.message}\n\nRule: {firing.rule_name}\nPeriod: {firing.period}\nTenant: {firing.tenant_id}\n",
            settings.DEFAULT_FROM_EMAIL,
            [address],
        )
    except Exception as exc:  # noqa: BLE001 — any failure of one delivery stays that delivery's
        log.warning("email %s of tenant %s: %s: %s", firing.key, firing.tenant_id, type(exc).__name__, exc)
        _log(
            firing,
            "email",
            "failed",
            "the mail server refused it or could not be reached",
            AlertFiring.email_state.set(FAILED),
        )
        return
    _log(firing, "email", "delivered", f"sent to {address}", AlertFiring.email_state.set(DONE))


def deliver(firing: AlertFiring, now: datetime | None = None, outbound: bool = True) -> bool:
    """Carry the firing's unfinished steps forward; True when this call finished its delivery.

    `outbound=False` (an API request): only the steps that stay inside the platform — the dashboard
    notification, and marking channels that are not configured — and never a webhook or an email,
    which wait for the delivery worker.
    """
    now = now or clock.now()
    if not _take_lease(firing, now):
        return False
    channel = queries.channel(firing.tenant_id)
    if firing.notification_state != DONE:
        _notify(firing)
    if firing.webhook_state not in FINAL:
        if not (channel.webhook_url and channel.webhook_secret):
            firing.update(actions=[AlertFiring.webhook_state.set(SKIPPED)])
        elif outbound:
            _webhook(firing, channel.webhook_url, channel.webhook_secret, now)
    if firing.email_state not in FINAL:
        if not channel.email:
            firing.update(actions=[AlertFiring.email_state.set(SKIPPED)])
        elif not channel.email_confirmed_at:  # nobody there said they want these
            _log(
                firing,
                "email",
                "skipped",
                f"{channel.email} has not confirmed it wants alerts",
                AlertFiring.email_state.set(SKIPPED),
            )
        elif outbound:
            _email(firing, channel.email)
    finished = all(
        state in FINAL for state in (firing.notification_state, firing.webhook_state, firing.email_state)
    )
    actions = [AlertFiring.lease_until.remove()]
    if finished:
        actions.append(AlertFiring.pending.remove())
    firing.update(actions=actions)
    return finished


__all__ = ["PENDING", "deliver", "payload"]


CONFIRM_DAYS = 7  # how long a confirmation link works


def send_confirmation(address: str, token: str) -> bool:
    """The link that confirms an address for alerts; False when the mail server refused it (the
    alerts page offers to send it again)."""
    link = settings.SITE_URL.rstrip("/") + reverse("alerts:confirm_email", args=[token])
    try:
        send_mail(
            "[Diatonic] Confirm this address for alerts",
            "Someone set this address to receive a tenant's cost alerts on the Diatonic dashboard.\n\n"
            f"To receive them, open this link and press Confirm (it works for {CONFIRM_DAYS} days):\n{link}\n\n"
            "If you did not expect this, ignore it: nothing is sent until the address is confirmed.\n",
            settings.DEFAULT_FROM_EMAIL,
            [address],
        )
    except Exception as exc:  # noqa: BLE001 — the address is saved either way; the page offers a resend
        log.warning("confirmation mail to an alerts address failed: %s: %s", type(exc).__name__, exc)
        return False
    return True
