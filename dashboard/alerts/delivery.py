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

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from pynamodb.exceptions import PutError, UpdateError

from dashboard.alerts import formats, queries, webhooks
from dashboard.alerts.models import PENDING, AlertChannel, AlertFiring, Attempt, Notification
from dashboard.core import clock, monitoring
from dashboard.core.money import money

log = logging.getLogger(__name__)
LEASE_SECONDS = 60
DONE, FAILED, SKIPPED = "done", "failed", "skipped"
FINAL = (DONE, FAILED, SKIPPED)

TITLES = {
    "budget": "Budget threshold reached",
    "forecast": "Forecast over budget",
    "agent_spend": "Agent spend over limit",
    "user_spend": "User spend over limit",
    "metric": "Metric alert",
}
LEVEL_TITLES = {"warning": "Warning", "critical": "Critical", "nodata": "No data", "resolved": "Resolved"}


def title_of(firing: AlertFiring) -> str:
    if firing.kind == "metric" and firing.level:
        return f"{LEVEL_TITLES.get(firing.level, 'Alert')}: {firing.rule_name}"
    return TITLES.get(firing.kind, "Alert")


def text_of(firing: AlertFiring) -> str:
    """The message and, for metric rules, why the number moved (the notification and the email)."""
    lines = [firing.message]
    drivers = firing.drivers_dict() or {}
    if drivers.get("change"):
        lines += ["", "Why: " + drivers["change"]["summary"]]
    for top in drivers.get("top", []):
        lines.append(
            f"- {top['dimension']} {top['value']}: {top['share_percent']} % of the cost, "
            f"{top['executions']} runs: {top['link']}"
        )
    for slow in drivers.get("slowest", []):
        lines.append(
            f"- slowest {slow['dimension']} {slow['value']}: p95 {slow['p95_ms']:,} ms, "
            f"{slow['executions']} runs: {slow['link']}"
        )
    return "\n".join(lines)


def alert_dict(firing: AlertFiring, sent_at: datetime) -> dict:
    """The alert as every channel shows it (formats.py): the generic webhook's JSON body."""
    return {
        "id": firing.key,
        "type": f"alert.{firing.kind}",
        "tenant_id": firing.tenant_id,
        "rule": {"id": firing.rule_id, "name": firing.rule_name, "kind": firing.kind},
        "level": firing.level or None,
        "period": firing.period,
        "threshold": firing.threshold,
        "subject": firing.subject or None,
        "value_micro_usd": int(firing.value_micro_usd),
        "limit_micro_usd": int(firing.limit_micro_usd),
        "metric": firing.metric or None,
        "value": firing.value,
        "limit": firing.limit,
        "message": firing.message,
        "drivers": firing.drivers_dict(),
        "fired_at": firing.fired_at,
        "sent_at": clock.iso_ms(sent_at),
        "link": formats.rules_link(),
    }


def payload(firing: AlertFiring, sent_at: datetime) -> bytes:
    if firing.event_type:
        return formats.body(event_dict(firing, sent_at))
    return formats.body(alert_dict(firing, sent_at))


def event_dict(firing: AlertFiring, sent_at: datetime) -> dict:
    """Another area's event (alerts.events): its own type and data, in the generic webhook's body."""
    return {
        "id": firing.key,
        "type": firing.event_type,
        "tenant_id": firing.tenant_id,
        "message": firing.message,
        "data": firing.event_data or {},
        "occurred_at": firing.fired_at,
        "sent_at": clock.iso_ms(sent_at),
    }


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
        title=title_of(firing),
        message=text_of(firing),
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


OUTBOUND = ("webhook", "slack", "teams")


def request_for(name: str, channel: AlertChannel, alert: dict, now: datetime) -> tuple[str, bytes, dict]:
    """(url, body, headers) of one outbound channel for an alert."""
    headers = {"Content-Type": "application/json", "User-Agent": "Diatonic-Alerts/3"}
    if name == "slack":
        return channel.slack_url, formats.body(formats.slack_message(alert)), headers
    if name == "teams":
        return channel.teams_url, formats.body(formats.teams_message(alert)), headers
    body = formats.body(alert)
    secrets = [channel.webhook_secret]
    if channel.webhook_previous_secret and (channel.webhook_previous_until or "") > clock.iso_ms(now):
        secrets.append(channel.webhook_previous_secret)
    return channel.webhook_url, body, {**headers, **webhooks.signature_headers(secrets, alert["id"], body)}


def configured(name: str, channel: AlertChannel) -> bool:
    if name == "webhook":
        return bool(channel.webhook_url and channel.webhook_secret)
    return bool(getattr(channel, f"{name}_url"))


@dataclass(frozen=True)
class Outcome:
    """One POST's result as the tenant may see it: the receiver's HTTP status, or why none came."""

    ok: bool
    status: int | None
    error: str

    @property
    def detail(self) -> str:
        if self.ok:
            return f"HTTP {self.status}: the receiver accepted it"
        if self.status is not None:
            return f"HTTP {self.status}: the receiver answered an error"
        return self.error


def send(url: str, body: bytes, headers: dict[str, str], where: str) -> Outcome:
    """POST once through webhooks.post (checked URL, public pinned address, no redirects, deadline)."""
    try:
        status = webhooks.post(url, body, headers)
    except webhooks.Refused as refused:
        # Checked again at send time: the name may resolve elsewhere now than when it was saved.
        log.warning("%s refused: %s", where, refused)
        return Outcome(False, None, f"refused: {refused}")
    except webhooks.DeadlineExceeded as exc:
        log.warning("%s: %s", where, exc)
        return Outcome(False, None, f"no answer in time ({exc})")
    except Exception as exc:  # noqa: BLE001 — any failure of one delivery stays that delivery's
        log.warning("%s: no answer: %s: %s", where, type(exc).__name__, exc)
        return Outcome(False, None, "could not connect")
    log.info("%s: HTTP %d", where, status)
    return Outcome(200 <= status < 300, status, "")


def _outbound(firing: AlertFiring, name: str, channel: AlertChannel, now: datetime) -> None:
    """One attempt on one outbound channel. Whatever goes wrong is this delivery's failure, recorded
    on its row, never the caller's."""
    if firing.next_attempt_at and firing.next_attempt_at > clock.iso_ms(now):
        return  # backing off
    state = getattr(AlertFiring, f"{name}_state")
    counter = getattr(AlertFiring, f"{name}_attempts")
    attempts = int(getattr(firing, f"{name}_attempts") or 0) + 1
    # Another area's event goes to the webhook in its own shape; Slack and Teams show it as an alert.
    shown = event_dict if firing.event_type and name == "webhook" else alert_dict
    url, body, headers = request_for(name, channel, shown(firing, clock.now()), now)
    outcome = send(url, body, headers, f"{name} {firing.key} of tenant {firing.tenant_id} attempt {attempts}")
    if outcome.ok:
        detail = f"the receiver accepted it (attempt {attempts})"
        _log(firing, name, "delivered", detail, state.set(DONE), counter.set(attempts))
        return
    if outcome.error.startswith("refused"):
        _log(firing, name, "failed", f"{outcome.error} Giving up.", state.set(FAILED), counter.set(attempts))
        return
    reason = "the receiver answered an error" if outcome.status is not None else "could not connect"
    detail = f"{reason} (attempt {attempts})"
    if attempts >= settings.ALERTS_WEBHOOK_MAX_ATTEMPTS:
        _log(firing, name, "failed", detail + "; giving up", state.set(FAILED), counter.set(attempts))
        return
    retry_at = now + timedelta(seconds=settings.ALERTS_RETRY_SECONDS * 2 ** (attempts - 1))
    _log(
        firing,
        name,
        "failed",
        f"{detail}; next try after {clock.iso_ms(retry_at)}",
        counter.set(attempts),
        AlertFiring.next_attempt_at.set(clock.iso_ms(retry_at)),
    )


def send_test(channel: AlertChannel, name: str) -> Outcome:
    """ "Send a test": a sample alert to one saved channel, now, with the same checks as a real one."""
    if not configured(name, channel):
        return Outcome(False, None, "Nothing to send to: save an address for this channel first.")
    now = clock.now()
    url, body, headers = request_for(name, channel, formats.sample(channel.tenant_id), now)
    return send(url, body, headers, f"test {name} of tenant {channel.tenant_id}")


def _email(firing: AlertFiring, address: str) -> None:
    try:
        send_mail(
            f"[Diatonic] {title_of(firing)}: {firing.rule_name}",
            f"{text_of(firing)}\n\nRule: {firing.rule_name}\nPeriod: {firing.period}\nTenant: {firing.tenant_id}\n",
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
    for name in OUTBOUND:
        if getattr(firing, f"{name}_state") in FINAL:
            continue
        if not configured(name, channel):
            firing.update(actions=[getattr(AlertFiring, f"{name}_state").set(SKIPPED)])
        elif outbound:
            _outbound(firing, name, channel, now)
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
    finished = all(getattr(firing, f"{name}_state") in FINAL for name in ("notification", *OUTBOUND, "email"))
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


def tell_about_budget_request(request) -> None:
    """Tell the tenant staff's answer: a dashboard notification (once: keyed by the request) and an
    e-mail to the admin who asked (a mail server's failure is logged; the notification stays)."""
    if request.status == "approved":
        title = "Budget increase approved"
        text = f"Staff approved a monthly budget of {money(request.approved_micro_usd)}; the budget alerts re-arm for it."
    else:
        title = "Budget increase refused"
        text = f"Staff refused the request for {money(request.amount_micro_usd)}."
    if request.decision_reason:
        text += f" Reason: {request.decision_reason}"
    note = Notification(
        tenant_id=request.tenant_id,
        sk=f"{request.decided_at}#budget-request#{request.request_id}",
        firing_key=f"budget-request#{request.request_id}",
        title=title,
        message=text,
        created_at=request.decided_at,
        unread_tenant=request.tenant_id,
    )
    try:
        note.save(condition=Notification.sk.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
    try:
        send_mail(f"[Diatonic] {title}", text + "\n", settings.DEFAULT_FROM_EMAIL, [request.asked_by_email])
    except Exception as exc:  # noqa: BLE001 — the notification is there either way
        log.warning("budget request mail to %s failed: %s: %s", request.tenant_id, type(exc).__name__, exc)
