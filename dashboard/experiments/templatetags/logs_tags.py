"""Display helpers of the experiments pages and the log viewer."""

from __future__ import annotations

import json
import re

from django import template
from django.utils.html import escape, format_html
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
def highlight(message: str, text: str) -> str:
    """The message escaped, with every case-insensitive occurrence of the search text in <mark>."""
    if not text:
        return escape(message)
    pattern = re.compile(re.escape(text), re.IGNORECASE)
    parts, last = [], 0
    for match in pattern.finditer(message):
        parts.append(escape(message[last : match.start()]))
        parts.append(format_html("<mark>{}</mark>", match.group(0)))
        last = match.end()
    parts.append(escape(message[last:]))
    return mark_safe("".join(str(part) for part in parts))  # noqa: S308 — every part is escaped above
