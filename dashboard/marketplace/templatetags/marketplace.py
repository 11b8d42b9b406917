"""Display helpers of the marketplace pages."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from dashboard.marketplace.catalogue import CATEGORIES

register = template.Library()


@register.filter
def category_label(category: str) -> str:
    return CATEGORIES.get(category, category)


@register.filter
def stars(average) -> str:
    """4.4 → ★★★★☆ (rounded to whole stars), with the figure for screen readers."""
    if average is None:
        return mark_safe('<span class="stars stars-none">no ratings yet</span>')
    full = int(round(float(average)))
    return format_html(
        '<span class="stars" aria-label="{} out of 5">{}<span class="stars-off">{}</span></span>',
        average,
        "★" * full,
        "★" * (5 - full),
    )


@register.filter
def history_label(action: str) -> str:
    return {
        "created": "created",
        "submitted": "submitted for review",
        "withdrawn": "withdrawn from public",
        "approve": "approved",
        "reject": "rejected",
        "feature": "featured",
        "unfeature": "unfeatured",
        "unpublish": "unpublished",
    }.get(action, action)


@register.filter
def person(label: str | None) -> str:
    """A person's name as every tenant may see it (never an email)."""
    from dashboard.marketplace.services import public_name

    return public_name(label) or "—"
