"""Why the number moved, computed at the moment a metric rule crosses a level.

- the change against the previous equal window (the day before, the previous month, the 7 or 30
  days before, the 2 or 25 hours before), with the cost change split exactly into volume and unit cost:
  Δcost = (n₁ − n₀) × u₀  [volume]  +  n₁ × (u₁ − u₀)  [unit cost], u = cost per execution;
- the top contributing agents, models and users of the window by cost (the rule's own dimension
  for a rule on one agent, model or user), each with its share and a link to its executions,
  filtered to it and to the window.

- for a p95 latency rule on the tenant or on models, the slowest models of the window by p95 (their
  daily or hourly rows keep the latency histogram: one query), each with a link to its executions.

Reads: one window read for the previous window, plus one top list per dimension (3 at most): exact
over days; over hours exact for models, and for agents and users whenever the candidates of the days
the window touches prove it (`analytics.queries.window_top`: a `top` read and one batch read, twice
at most), else the costliest among the 100 costliest of those days.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.urls import reverse

from dashboard.alerts import formats
from dashboard.alerts.models import METRICS, AlertRule
from dashboard.analytics.queries import window_top, window_totals
from dashboard.analytics.rollups import TOTAL_VALUE, Totals
from dashboard.core.money import money

TOP = 3
FILTER = {"agent": "agent", "model": "model", "user": "user", "environment": "environment", "tag": "tag"}


def executions_link(dimension: str, value: str, start, end) -> str:
    days = {"start": start.isoformat(), "end": end.isoformat()}
    if dimension == "user":  # a person has a page of their own: cost by day, sessions, agents
        return formats.site_link(reverse("analytics:person", args=[value]) + "?" + urlencode(days))
    query = urlencode({FILTER[dimension]: value, **days})
    return formats.site_link(reverse("analytics:executions") + "?" + query)


def split(current: Totals, previous: Totals) -> dict:
    """The cost change split into volume and unit cost (integers, micro-USD; they add up exactly)."""
    delta = int(current.cost_micro_usd) - int(previous.cost_micro_usd)
    if previous.count:
        volume = (current.count - previous.count) * previous.cost_micro_usd // previous.count
    else:
        volume = delta  # nothing before: all of it is new volume
    return {
        "cost_change_micro_usd": delta,
        "volume_micro_usd": int(volume),
        "unit_cost_micro_usd": int(delta - volume),
    }


def _percent(now: int, before: int) -> str:
    if not before:
        return "new" if now else "no change"
    return f"{(now - before) * 100 / before:+.0f} %"


def drivers(tenant_id: str, rule: AlertRule, subject: str, window, current: Totals) -> str:
    """The drivers as JSON (stored on the firing; every channel shows them)."""
    from dashboard.alerts.metrics import previous_window, show, value_of  # one module's helpers

    before_window = previous_window(rule, window)
    dimension = rule.scope if rule.scope != "tenant" else "tenant"
    values = [subject] if subject and dimension != "tenant" else None
    before = window_totals(
        tenant_id,
        dimension,
        before_window.start,
        before_window.end,
        values,
        histogram=rule.metric == "p95_ms",
    ).get(subject or TOTAL_VALUE, Totals())
    parts = split(current, before)
    now_value, old_value = value_of(rule.metric, current), value_of(rule.metric, before)
    summary = (
        f"{METRICS[rule.metric]} {show(rule.metric, now_value)} against {show(rule.metric, old_value)} in the "
        f"previous {before_window.length} ({_percent(now_value or 0, old_value or 0)}). Cost "
        f"{money(parts['cost_change_micro_usd'])} change: {money(parts['volume_micro_usd'])} from volume "
        f"({current.count:,} runs against {before.count:,}), {money(parts['unit_cost_micro_usd'])} from unit cost."
    )
    tops = []
    dimensions = ("agent", "model", "user") if dimension == "tenant" else (dimension,)
    total_cost = int(current.cost_micro_usd) if dimension == "tenant" else None
    for name in dimensions:
        ranked = window_top(tenant_id, name, window.start, window.end, TOP)
        whole = total_cost if total_cost is not None else sum(int(t.cost_micro_usd) for _, t in ranked) or 1
        for value, totals in ranked:
            tops.append(
                {
                    "dimension": name,
                    "value": value,
                    "cost_micro_usd": int(totals.cost_micro_usd),
                    "executions": int(totals.count),
                    "failures": int(totals.failures),
                    "share_percent": round(100 * int(totals.cost_micro_usd) / (whole or 1)),
                    "link": executions_link(name, value, window.first_day, window.last_day),
                }
            )
    slowest = []
    if rule.metric == "p95_ms" and dimension in ("tenant", "model"):
        models = window_totals(tenant_id, "model", window.start, window.end, histogram=True)
        ranked = sorted(
            ((value, t) for value, t in models.items() if t.p95_ms is not None),
            key=lambda item: (-item[1].p95_ms, item[0]),
        )
        slowest = [
            {
                "dimension": "model",
                "value": value,
                "p95_ms": totals.p95_ms,
                "executions": int(totals.count),
                "link": executions_link("model", value, window.first_day, window.last_day),
            }
            for value, totals in ranked[:TOP]
        ]
    return json.dumps(
        {
            "window": {"start": window.start.isoformat(), "end": window.end.isoformat()},
            "previous_window": {
                "start": before_window.start.isoformat(),
                "end": before_window.end.isoformat(),
            },
            "change": {
                "metric_now": now_value,
                "metric_before": old_value,
                "executions_now": int(current.count),
                "executions_before": int(before.count),
                "cost_now_micro_usd": int(current.cost_micro_usd),
                "cost_before_micro_usd": int(before.cost_micro_usd),
                **parts,
                "summary": summary,
            },
            "top": tops,
            **({"slowest": slowest} if slowest else {}),
        },
        separators=(",", ":"),
    )
