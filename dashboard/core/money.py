"""Money as people read it: the one format of every page, message and e-mail (the CSV and the API
give exact micro-USD instead). The charts' axes and tooltips write it in the browser with
`DashboardCharts.money` (static/js/charts.js), which follows these rules; a browser test compares the two."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

MINUS = "\u2212"  # a true minus sign, not a hyphen


def money(amount, unit: str = "micro") -> str:
    """The one money format of the site. Integer micro-USD (or dollars with `unit` "usd"):
    two decimals from a cent up ($1,234.57, $0.50), more only below a cent, to two significant
    digits ($0.0075, $0.00012),
    and a true minus sign before the dollar sign (−$2.00)."""
    if amount in (None, ""):
        return "—"
    try:
        micro = int(amount) if unit == "micro" else round(float(amount) * 1_000_000)
    except (TypeError, ValueError):
        return str(amount)
    sign = MINUS if micro < 0 else ""
    micro = abs(micro)
    if micro == 0 or micro >= 10_000:  # whole cents, half up ($0.015 → $0.02), never binary floats
        cents = (micro + 5_000) // 10_000
        return f"{sign}${cents // 100:,}.{cents % 100:02d}"
    # Below a cent: two significant digits (at least four decimals, at most micro-USD's six).
    places = 4 if micro >= 1_000 else 5 if micro >= 100 else 6
    dollars = (Decimal(micro) / 1_000_000).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{sign}${dollars}"
