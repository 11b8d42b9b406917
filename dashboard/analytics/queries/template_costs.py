"""A page of marketplace cards' template figures (dashboard.analytics.template_costs): the summaries the
worker's pass keeps, read in one BatchGetItem for up to 100 templates. Every caller (cards, template
page, moderation queue) reads the same summaries, so the same rule hides them (fewer than 3 tenants)."""

from __future__ import annotations

from collections.abc import Iterable

from dashboard.analytics.models import ExecutionRollup
from dashboard.analytics.template_costs import SUMMARY_PK, Summary

MAX_TEMPLATES = 100  # BatchGetItem's limit: a page of cards is at most one call


def template_figures(template_ids: Iterable[str]) -> dict[str, Summary]:
    """The 30-day summary of each template that has one (absent: not run in the window). One
    BatchGetItem (none for no ids); more than MAX_TEMPLATES ids are refused, not paged."""
    ids = sorted(set(template_ids))
    if not ids:
        return {}
    if len(ids) > MAX_TEMPLATES:
        raise ValueError(f"At most {MAX_TEMPLATES} templates a read.")
    keys = [(SUMMARY_PK, template_id) for template_id in ids]
    return {
        item.sk: Summary.from_json(item.figures)
        for item in ExecutionRollup.batch_get(keys, attributes_to_get=["pk", "sk", "figures"])
        if item.figures
    }
