"""Display helpers shared by every page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.timesince import timesince

from dashboard.core import clock
from dashboard.core.money import money
from dashboard.core.scope import ROLE_LABELS

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
    "stalled": "bad",
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


register.filter("money", money)


@register.simple_tag
def url_with(view_name: str, *args, **params) -> str:
    """Another page's address with a query: `{% url_with 'flows:list' project=p.project_id %}`.

    The values are URL-encoded (a tag with `&` or `#` stays one value) and empty ones left out; a list
    repeats its parameter (`run=a&run=b`). For the current page with some parameters changed and the
    others kept, use `{% querystring %}`."""
    query = {}
    for name, value in params.items():
        if isinstance(value, list | tuple):
            value = [item for item in value if item not in (None, "")]
        if value not in (None, "", []):
            query[name] = value
    query = urlencode(query, doseq=True)
    address = reverse(view_name, args=args)
    return f"{address}?{query}" if query else address


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
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    now = clock.now()
    if now - moment < timedelta(minutes=1):
        return "just now"  # not "0 minutes ago" (nor a moment a clock skew puts in the future)
    return f"{timesince(moment, now).split(',')[0]} ago"


def _moment(value) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


@register.filter
def when(value, precision: str = "minutes") -> str:
    """The one way a moment is written: `Dec 1, 2026 14:03 UTC` (`precision` "seconds" adds them,
    "ms" milliseconds), in a `<time>` element carrying the exact ISO time on hover."""
    moment = _moment(value)
    if moment is None:
        return str(value) if value else "—"
    moment = moment.astimezone(UTC)
    clock_format = {"seconds": "%H:%M:%S", "ms": "%H:%M:%S.%f"}.get(precision, "%H:%M")
    text = f"{moment:%b} {moment.day}, {moment.year} {moment.strftime(clock_format)}"
    if precision == "ms":
        text = text[:-3]
    iso = moment.isoformat().replace("+00:00", "Z")
    return format_html('<time datetime="{}" title="{}">{} UTC</time>', iso, iso, text)


@register.filter
def person(user_id, people) -> str:
    """A person by name with the email on hover, from a `{user_id: (name, email)}` map; the bare id
    for ids that are not dashboard users (agents' own end users)."""
    found = (people or {}).get(user_id)
    if not found:
        return format_html("{}", user_id or "—")
    name, email = found
    return format_html('<span title="{}">{}</span>', email, name)


@register.filter
def label_in(key, labels) -> str:
    """`labels[key]`, or the key itself when it has no label (ids stay readable as a fallback)."""
    return (labels or {}).get(key) or key
