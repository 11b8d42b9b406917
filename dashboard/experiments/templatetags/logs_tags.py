"""Display helpers of the experiments pages and the log viewer."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from django import template
from django.utils.html import escape, format_html
from django.utils.http import urlencode
from django.utils.safestring import mark_safe

from dashboard.core import clock
from dashboard.experiments import lines, queries

register = template.Library()


@register.filter
def duration(run) -> str:
    """How long a run took, or has been running: 1 h 04 m, 3 m 12 s, 8 s."""
    if not run.started_at or run.status == "queued":
        return "—"
    end = run.finished_at or clock.now()
    seconds = max(0, int((end - run.started_at).total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} m"
    if minutes:
        return f"{minutes} m {seconds:02d} s"
    return f"{seconds} s"


@register.filter
def log_time(line) -> str:
    return lines.timestamp(line).strftime("%H:%M:%S.%f")[:-3]


@register.filter
def log_moment(line) -> str:
    return lines.timestamp(line).strftime("%b %d, %H:%M:%S")


@register.filter
def log_iso(line) -> str:
    return lines.iso(line)


@register.filter
def pretty_json(value) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)


@register.filter
def field_preview(fields) -> str:
    """The first few fields as `key=value`, for the collapsed row."""
    pairs = [f"{key}={json.dumps(value, default=str)}" for key, value in list((fields or {}).items())[:3]]
    more = len(fields or {}) - len(pairs)
    return " ".join(pairs) + (f" +{more}" if more > 0 else "")


@register.filter
def stalled(run) -> bool:
    return queries.is_stalled(run)


@register.filter
def highlight(message: str, filters) -> str:
    """The message escaped, with every match of the search in <mark>: the RE2 pattern's matches for a
    regular-expression search, else each case-insensitive occurrence of the text."""
    if filters is None or not filters.text:
        return escape(message)
    pattern = filters.pattern if filters.regex else re.compile(re.escape(filters.text), re.IGNORECASE)
    parts, last = [], 0
    for match in pattern.finditer(message):
        if match.end() == match.start():
            continue  # an empty match marks nothing
        parts.append(escape(message[last : match.start()]))
        parts.append(format_html("<mark>{}</mark>", match.group(0)))
        last = match.end()
    parts.append(escape(message[last:]))
    return mark_safe("".join(str(part) for part in parts))  # noqa: S308 — every part is escaped above


@register.filter
def field_value(fields, path: str) -> str:
    """A field of the line (`epoch`, or `a.b` nested) as text for its column; empty when absent."""
    found = fields or {}
    for name in path.split("."):
        if not isinstance(found, dict) or name not in found:
            return ""
        found = found[name]
    return found if isinstance(found, str) else json.dumps(found, default=str)


@register.filter
def from_start(offset_ms: int) -> str:
    """Time since a run's first line: +1:02:03.456."""
    seconds, ms = divmod(max(0, int(offset_ms)), 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"+{hours}:{minutes:02d}:{seconds:02d}.{ms:03d}"


@register.filter
def epoch_time(ms) -> str:
    """Epoch milliseconds as the viewer shows a moment (UTC)."""
    return datetime.fromtimestamp(int(ms) / 1000, UTC).strftime("%b %d, %H:%M:%S")


@register.filter
def urlencode_params(params) -> str:
    """A saved view's filters as the viewer's query string."""
    return urlencode(params or {})
