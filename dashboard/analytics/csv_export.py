"""The overview's figures as CSV (Django's csv recipe): one table, a `section` column says which block.

Under a filter (`environment=` or `tag=`), `filter` rows name it first and `not_split` rows name each part
not split by it (left out, never written unfiltered)."""

from __future__ import annotations

import json
from decimal import Decimal

from dashboard.analytics.overview import Overview, Ranked

HEADER = [
    "section",
    "key",
    "day",
    "executions",
    "failures",
    "cost_micro_usd",
    "cost_usd",
    "share",
    "tokens_in",
    "tokens_out",
    "avg_ms",
    "p50_ms",
    "p95_ms",
    "change_vs_previous",
    "previous_cost_micro_usd",
    "cost_change_micro_usd",
    "volume_effect_micro_usd",
    "unit_cost_effect_micro_usd",
]


def usd(micro: int | None) -> str:
    return (
        "" if micro is None else str((Decimal(int(micro)) / Decimal(1_000_000)).quantize(Decimal("0.000001")))
    )


def _fraction(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}"


def _totals_row(section: str, key: str, totals, share=None, change=None, previous=None) -> list:
    before = (
        [previous.cost_micro_usd, totals.cost_micro_usd - previous.cost_micro_usd, "", ""]
        if previous is not None
        else ["", "", "", ""]
    )
    return [
        section,
        key,
        "",
        totals.count,
        totals.failures,
        totals.cost_micro_usd,
        usd(totals.cost_micro_usd),
        _fraction(share),
        totals.tokens_in,
        totals.tokens_out,
        totals.avg_ms if totals.avg_ms is not None else "",
        totals.p50_ms if totals.p50_ms is not None else "",
        totals.p95_ms if totals.p95_ms is not None else "",
        _fraction(change),
        *before,
    ]


def rows(data: Overview) -> list[list]:
    out: list[list] = [HEADER]
    for key, value in data.filter.query_args().items():
        out.append(["filter", key, value] + [""] * (len(HEADER) - 3))
    out.extend(["not_split", part] + [""] * (len(HEADER) - 2) for part in data.not_split)
    cost_change = data.headlines[0].change
    out.append(
        _totals_row("period", f"{data.period.start}..{data.period.end}", data.current, None, cost_change)
    )
    out.append(
        _totals_row(
            "previous_period", f"{data.period.previous.start}..{data.period.previous.end}", data.previous
        )
    )
    for position, day in enumerate(data.days):
        for series, values in sorted(data.daily_cost.items()):
            if values[position]:
                row = ["daily_cost", series, day.isoformat(), "", "", values[position], usd(values[position])]
                out.append(row + [""] * (len(HEADER) - len(row)))
    ranked_sections: list[tuple[str, list[Ranked]]] = [
        ("top_agent", data.top_agents),
        ("top_model", data.top_models),
        ("top_user", data.top_users),
        ("top_environment", data.top_environments),
        ("top_tag", data.top_tags),
        ("top_session", data.top_sessions),
        ("top_template", data.top_templates),
        ("failures_by_status", data.statuses),
        *((f"top_metadata.{key}", rows) for key, rows in data.top_metadata),
    ]
    for section, ranked in ranked_sections:
        out.extend(
            _totals_row(section, item.value, item.totals, item.share, item.cost_change_ratio, item.previous)
            for item in ranked
        )
    for driver in data.drivers:
        row = _totals_row("driver_agent", driver.value, driver.current, None, None, driver.previous)
        row[-2:] = [
            "" if driver.volume_effect is None else driver.volume_effect,
            "" if driver.unit_cost_effect is None else driver.unit_cost_effect,
        ]
        out.append(row)
    out.extend(
        _totals_row("tenant", row.tenant_id, row.current, row.share, row.cost_change) for row in data.tenants
    )
    if data.budget:
        budget = data.budget
        for key, micro in (
            ("monthly_budget", budget.budget_micro_usd),
            ("month_to_date", budget.month_to_date_micro_usd),
            ("forecast_month_end", budget.forecast_micro_usd),
        ):
            row = ["budget", key, budget.month, "", "", "" if micro is None else micro, usd(micro)]
            out.append(row + [""] * (len(HEADER) - len(row)))
    return out


def filename(data: Overview) -> str:
    who = "-".join([data.tenant_id or "all-tenants", *data.filter.query_args().values()])
    who = "".join(c if c.isalnum() or c in "-_." else "_" for c in who)  # an environment may hold / or @
    return f"costs-{who}-{data.period.start}-{data.period.end}.csv"


EXECUTION_HEADER = [
    "started_at",
    "execution_id",
    "agent_id",
    "status",
    "model",
    "user_id",
    "tokens_in",
    "tokens_out",
    "duration_ms",
    "cost_micro_usd",
    "cost_usd",
    "error",
    "environment",
    "session_id",
    "tags",
    "metadata",
    "flow_id",
]


def execution_rows(executions) -> list[list]:
    """The filtered execution list as CSV rows, its header first."""
    return [EXECUTION_HEADER] + [
        [
            e.started_at,
            e.execution_id,
            e.agent_id,
            e.status,
            e.model,
            e.user_id,
            int(e.tokens_in or 0),
            int(e.tokens_out or 0),
            int(e.duration_ms or 0),
            int(e.cost_micro_usd or 0),
            usd(e.cost_micro_usd),
            e.error or "",
            e.environment or "",
            e.session_id or "",
            "|".join(e.tags or []),  # tags hold no '|' (inputs.TAG_PATTERN)
            json.dumps(e.metadata.as_dict(), sort_keys=True) if e.metadata is not None else "",
            e.flow_id or "",
        ]
        for e in executions
    ]
