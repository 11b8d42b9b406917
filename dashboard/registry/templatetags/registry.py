"""Display helpers of the registry pages."""

from __future__ import annotations

from datetime import datetime

from django import template

register = template.Library()


@register.filter
def get_item(mapping, key):
    if not mapping:
        return None
    return mapping.get(key)


@register.filter
def metric(value) -> str:
    """Metric values read well with up to 4 significant decimals; integers stay integers."""
    if value is None or value == "":
        return "—"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.4g}" if abs(value) < 1000 else f"{value:,.1f}"
    return str(value)


@register.filter
def signed(value) -> str:
    if value is None:
        return ""
    text = metric(abs(value)) if isinstance(value, int | float) else str(value)
    if isinstance(value, int | float) and value > 0:
        return f"+{text}"
    if isinstance(value, int | float) and value < 0:
        return f"−{text}"
    return "±0"


@register.filter
def when(value) -> str:
    """An ISO timestamp from a history row as a short date and time."""
    if not value:
        return "—"
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return moment.strftime("%b %-d, %H:%M")


@register.filter
def duration_minutes(value) -> str:
    """A timedelta in minutes or hours as people say it: 30 minutes, 2 hours."""
    minutes = int(value.total_seconds() // 60)
    if minutes % 60 == 0 and minutes >= 60:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
