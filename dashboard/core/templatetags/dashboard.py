"""Display helpers shared by every page."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils.html import format_html
from django.utils.timesince import timesince

from dashboard.accounts.scope import ROLE_LABELS

register = template.Library()

STATUS_TONES = {
    "approved": "ok",
    "succeeded": "ok",
    "deployed": "ok",
    "valid": "ok",
    "active": "ok",
    "pending": "warn",
    "deploying": "warn",
    "running": "info",
    "stalled": "warn",
    "queued": "info",
    "registered": "info",
    "draft": "muted",
    "default": "muted",
    "unpublished": "muted",
    "retired": "muted",
    "cancelled": "muted",
    "rolled_back": "warn",
    "timeout": "warn",
    "warning": "warn",
    "rejected": "bad",
    "failed": "bad",
    "invalid": "bad",
    "error": "bad",
    "critical": "bad",
    "revoked": "bad",
}


@register.filter
def money(micro_usd) -> str:
    """Integer micro-USD as dollars: 1234567 → $1.23 (cents below a dollar keep 4 decimals)."""
    if micro_usd in (None, ""):
        return "—"
    dollars = int(micro_usd) / 1_000_000
    if 0 < abs(dollars) < 1:
        return f"${dollars:,.4f}"
    return f"${dollars:,.2f}"


@register.filter
def status_badge(status) -> str:
    text = str(status or "—")
    tone = STATUS_TONES.get(text.lower(), "muted")
    return format_html('<span class="badge badge-{}">{}</span>', tone, text.replace("_", " "))


@register.filter
def role_label(role) -> str:
    return ROLE_LABELS.get(str(role), str(role))


@register.filter
def ago(moment) -> str:
    if not moment:
        return "—"
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
        except ValueError:
            return moment
    return f"{timesince(moment).split(',')[0]} ago"
