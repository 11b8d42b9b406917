"""Display helpers of the analytics pages."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.http import urlencode

from dashboard.analytics import pricing

register = template.Library()


@register.filter
def share(value) -> str:
    if value is None:
        return "—"
    return f"{100 * value:.1f} %"


@register.filter
def latency(ms) -> str:
    if ms is None:
        return "—"
    ms = int(ms)
    if ms < 1000:
        return f"{ms} ms"
    return f"{ms / 1000:.2f} s" if ms < 60_000 else f"{ms / 60_000:.1f} min"


@register.filter
def number(value) -> str:
    if value is None:
        return "—"
    return f"{int(value):,}"


@register.filter
def headline_value(headline) -> str:
    from dashboard.core.money import money

    value = headline.current
    if value is None:
        return "—"
    if headline.kind == "money":
        return money(value)
    if headline.kind == "percent":
        return f"{value:.1f} %"
    if headline.kind == "ms":
        return latency(value)
    return number(value)


@register.filter
def change_badge(headline, compared_with: str = "") -> str:
    """▲/▼ and the change; `compared_with` ("Nov 1–7") says against what, after the figure."""
    against = f"vs {compared_with}" if compared_with else "vs the previous period"
    delta = headline.change
    if delta is None:
        return format_html(
            '<span class="change change-none">no earlier data</span> <span class="muted">{}</span>', against
        )
    arrow = "▲" if delta > 0 else ("▼" if delta < 0 else "■")
    text = f"{delta:+.1f} pts" if headline.kind == "percent" else f"{100 * delta:+.1f} %"
    return format_html(
        '<span class="change change-{}">{} {}</span> <span class="muted">{}</span>',
        headline.tone,
        arrow,
        text,
        against,
    )


@register.filter
def relative_change(delta) -> str:
    if delta is None:
        return "—"
    return f"{100 * delta:+.1f} %"


@register.filter
def query_string(params: dict) -> str:
    return urlencode(params)


@register.filter
def chart_rows(chart_data: dict) -> list[tuple[str, list[tuple[str, int]], int]]:
    """The daily chart as table rows — (day, (series, value) per series, total) — for the chart's
    text alternative, whose cells link to the executions behind each bar."""
    series = [(item["label"], item["data"]) for item in chart_data.get("series", [])]
    rows = []
    for index, day in enumerate(chart_data.get("labels", [])):
        values = [(label, data[index] if index < len(data) else 0) for label, data in series]
        rows.append((day, values, sum(value for _, value in values)))
    return rows


@register.filter
def money_abs(micro_usd) -> str:
    """A change's size as money (its sign is written before it)."""
    from dashboard.core.money import money

    return money(abs(int(micro_usd))) if micro_usd is not None else "—"


@register.filter
def price_why(source: str | None, ref: str | None = None) -> str:
    """Which price applied and why (dashboard.analytics.pricing.explain)."""
    return pricing.explain(source, ref)


@register.filter
def price_label(source: str | None) -> str:
    return pricing.SOURCE_LABELS.get(source or "catalogue", source or "catalogue")
