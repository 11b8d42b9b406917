"""Figures of a window of whole UTC days for alert rules: per tenant, model, agent, user, environment or
tag, read from the rollups only (`rollup_reads`), so the cost does not grow with the number of
executions.

- `tenant`: the daily `total` rows of the window, one query (with the latency histogram when asked);
- `model`: the daily `model` rows, one query, every model of the window;
- `agent` / `user` / `environment` / `tag`: given values, their ranked rows of the buckets covering
  the window (one batch read); no values: the `k` costliest of the window (`top`, exact).

The rollups count by UTC day, so a window is a range of whole days; the last one is today so far.
"""

from __future__ import annotations

from datetime import date

from dashboard.analytics.queries.rollup_reads import daily, figures, top
from dashboard.analytics.rollups import TOTAL_VALUE, Totals

DIMENSIONS = ("tenant", "model", "agent", "user", "environment", "tag")
HISTOGRAM_DIMENSIONS = ("tenant",)  # only the daily `total` rows carry the latency histogram


def window_totals(
    tenant_id: str,
    dimension: str,
    start: date,
    end: date,
    values: list[str] | None = None,
    k: int = 100,
    histogram: bool = False,
) -> dict[str, Totals]:
    """{value: totals} of `start`…`end` (inclusive). `tenant` answers under the key "all"; `values`
    None: every model, or the `k` costliest agents, users, environments or tags. Calls: one query (tenant, model), one
    batch read (given agents or users), or a `top` read."""
    if dimension == "tenant":
        sums = Totals()
        for totals in daily(tenant_id, "total", start, end, histogram=histogram).values():
            sums.merge(totals)
        return {TOTAL_VALUE: sums}
    if dimension == "model":
        sums_by: dict[str, Totals] = {}
        for (_, value), totals in daily(tenant_id, "model", start, end).items():
            if values is None or value in values:
                sums_by.setdefault(value, Totals()).merge(totals)
        for value in values or []:
            sums_by.setdefault(value, Totals())
        return sums_by
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}")
    if values is not None:
        return figures(tenant_id, dimension, start, end, values)
    return dict(top(tenant_id, dimension, start, end, k))
