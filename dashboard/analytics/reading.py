"""Reading rollup rows: one query per tenant and dimension over a range of days."""

from __future__ import annotations

from datetime import date

from dashboard.analytics import rollups
from dashboard.analytics.models import ExecutionRollup


def rows(tenant_id: str, dimension: str, start: date, end: date) -> list[ExecutionRollup]:
    """Rows of `start`…`end` (inclusive); their number depends on days × distinct values, never on volume."""
    return list(
        ExecutionRollup.query(
            rollups.pk(tenant_id, dimension),
            ExecutionRollup.sk.between(f"{start.isoformat()}#", f"{end.isoformat()}#~"),
        )
    )


def split_sk(row: ExecutionRollup) -> tuple[str, str]:
    day, _, value = row.sk.partition("#")
    return day, value
