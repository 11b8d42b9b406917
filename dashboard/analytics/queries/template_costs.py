"""A page of marketplace cards' template figures (dashboard.analytics.template_costs): the summaries the
worker's pass keeps, read in one BatchGetItem for up to 100 templates. Every caller (cards, template
page, moderation queue) reads the same summaries, so the same rule hides them (fewer than 3 tenants)."""

from __future__ import annotations

from collections.abc import Iterable

from dashboard.analytics.models import ExecutionRollup
from dashboard.analytics.template_costs import SUMMARY_PK, Summary

BATCH = 100  # BatchGetItem's limit: a page of cards (24, and 6 featured) is one call


def template_figures(template_ids: Iterable[str]) -> dict[str, Summary]:
    """The 30-day summary of each template that has one (absent: not run in the window). One
    BatchGetItem per BATCH ids (none for no ids)."""
    ids = sorted(set(template_ids))
    if not ids:
        return {}
    keys = [(SUMMARY_PK, template_id) for template_id in ids]
    return {
        item.sk: Summary.from_json(item.figures)
        for item in ExecutionRollup.batch_get(keys, attributes_to_get=["pk", "sk", "figures"])
        if item.figures
    }
