"""Display helpers of the marketplace pages."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from dashboard.marketplace import moderation
from dashboard.marketplace.inputs import CATEGORIES
from dashboard.marketplace.models import public_name

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
        "returned": "returned to review (its runs worsened)",
    }.get(action, action)


@register.filter
def person(label: str | None) -> str:
    """A person's name as every tenant may see it (never an email)."""
    return public_name(label) or "—"


@register.simple_tag(takes_context=True)
def actions_for(context, template) -> list[moderation.Action]:
    """`{% actions_for template as actions %}`: the moves the person viewing may make on it now."""
    return moderation.actions_for(context["request"].scope, template)


@register.simple_tag
def template_update_form(update, flow, form=None):
    """The marketplace's form under a flow page's "Update available" panel: the bound one a refused
    update came back with, else a fresh one for the version on offer (no DynamoDB call)."""
    from dashboard.marketplace.forms import update_form

    return form if form is not None else update_form(update, flow)


@register.filter
def figures_of(figures, template_id: str):
    """A template's last-30-day figures across tenants (`figures`: analytics' summaries by template id,
    read once for the page), or None when fewer than 3 tenants ran it ("not enough usage yet")."""
    summary = (figures or {}).get(template_id)
    return summary if summary is not None and summary.enough else None
