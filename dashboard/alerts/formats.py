"""What an alert looks like on each channel, built from one dict (the generic webhook's JSON body).

- the generic webhook: the dict itself, as compact JSON, signed (Standard Webhooks, webhooks.py);
- Slack: an incoming-webhook message, `text` (the notification's fallback) and Block Kit `blocks`
  (header, section, fields, context, a button), within Block Kit's documented limits (Slack
  publishes no JSON schema: https://api.slack.com/reference/block-kit/blocks);
- Microsoft Teams: a Workflows webhook's "message" with one Adaptive Card 1.4 attachment (the
  version Teams renders everywhere; the card validates against Microsoft's published schema).

`sample()` is what "Send a test" posts: the same shapes, marked as a test, so a receiver can be
tried before any rule fires.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.urls import reverse

from dashboard.core import clock
from dashboard.core.money import money

SLACK_TEXT = 3000  # section text
SLACK_HEADER = 150  # header plain_text
SLACK_FIELD = 2000  # each section field
SLACK_BUTTON = 75  # button text
LEVEL_EMOJI = {
    "critical": ":red_circle:",
    "warning": ":large_yellow_circle:",
    "resolved": ":white_check_mark:",
}


def site_link(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def rules_link() -> str:
    return site_link(reverse("alerts:rules"))


def body(alert: dict) -> bytes:
    return json.dumps(alert, separators=(",", ":")).encode()


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _title(alert: dict) -> str:
    level = alert.get("level") or ""
    prefix = "[TEST] " if alert.get("test") else ""
    label = f"{level.capitalize()}: " if level else ""
    return f"{prefix}{label}{alert['rule']['name']}"


def _facts(alert: dict) -> list[tuple[str, str]]:
    facts = [("Tenant", alert["tenant_id"]), ("Period", str(alert.get("period") or ""))]
    if alert.get("threshold"):
        facts.append(("Threshold", str(alert["threshold"])))
    if alert.get("subject"):
        facts.append(("Subject", str(alert["subject"])))
    return facts


def _driver_lines(alert: dict) -> list[str]:
    """The "why" in plain lines: change against the previous window, then the top contributors (and
    for a latency rule the slowest models)."""
    drivers = alert.get("drivers") or {}
    lines = []
    change = drivers.get("change")
    if change:
        lines.append(change["summary"])
    for top in drivers.get("top", []):
        lines.append(
            f"Top {top['dimension']}: {top['value']} — {money(top['cost_micro_usd'])} "
            f"({top['share_percent']} %, {top['executions']} runs) {top['link']}"
        )
    for slow in drivers.get("slowest", []):
        lines.append(
            f"Slowest {slow['dimension']}: {slow['value']} — p95 {slow['p95_ms']:,} ms "
            f"({slow['executions']} runs) {slow['link']}"
        )
    return lines


def slack_message(alert: dict) -> dict:
    emoji = LEVEL_EMOJI.get(alert.get("level") or "", ":bell:")
    fields = [
        {"type": "mrkdwn", "text": _cut(f"*{name}*\n{value}", SLACK_FIELD)} for name, value in _facts(alert)
    ]
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(_title(alert), SLACK_HEADER)}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": _cut(f"{emoji} {alert['message']}", SLACK_TEXT)},
        },
        {"type": "section", "fields": fields[:10]},
    ]
    why = _driver_lines(alert)
    if why:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _cut("*Why*\n" + "\n".join(why), SLACK_TEXT)},
            }
        )
    blocks += [
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"Fired {alert['fired_at']} · id `{alert['id']}`"}],
        },
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Open the alert rules"},
                    "url": alert.get("link") or rules_link(),
                }
            ],
        },
    ]
    return {"text": _cut(f"{_title(alert)}: {alert['message']}", SLACK_TEXT), "blocks": blocks}


def adaptive_card(alert: dict) -> dict:
    level = alert.get("level") or ""
    body_items: list[dict] = [
        {
            "type": "TextBlock",
            "text": _title(alert),
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
            "color": {"critical": "Attention", "warning": "Warning", "resolved": "Good"}.get(
                level, "Default"
            ),
        },
        {"type": "TextBlock", "text": alert["message"], "wrap": True},
        {"type": "FactSet", "facts": [{"title": name, "value": value} for name, value in _facts(alert)]},
    ]
    why = _driver_lines(alert)
    if why:
        body_items.append({"type": "TextBlock", "text": "Why", "weight": "Bolder", "wrap": True})
        body_items += [{"type": "TextBlock", "text": line, "wrap": True, "spacing": "Small"} for line in why]
    return {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body_items,
        "actions": [
            {
                "type": "Action.OpenUrl",
                "title": "Open the alert rules",
                "url": alert.get("link") or rules_link(),
            }
        ],
    }


def teams_message(alert: dict) -> dict:
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": adaptive_card(alert),
            }
        ],
    }


def sample(tenant_id: str) -> dict:
    """A test alert: the shape of a real one, marked `test`."""
    now = clock.iso_ms(clock.now())
    return {
        "id": f"test#{now}",
        "type": "alert.test",
        "test": True,
        "tenant_id": tenant_id,
        "rule": {"id": "test", "name": "Test alert", "kind": "test"},
        "level": "warning",
        "period": now[:10],
        "threshold": None,
        "subject": None,
        "value_micro_usd": 0,
        "limit_micro_usd": 0,
        "message": "This is a test from the Diatonic dashboard: alerts will arrive here.",
        "drivers": None,
        "fired_at": now,
        "sent_at": now,
        "link": rules_link(),
    }
