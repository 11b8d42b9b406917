"""Reading rollup rows: one query per tenant and dimension over a range of days."""

from __future__ import annotations

from datetime import date

from dashboard.analytics import rollups
from dashboard.analytics.models import ExecutionRollup

COUNTER_ATTRIBUTES = ["pk", "sk", *rollups.COUNTERS]


def rows(
    tenant_id: str, dimension: str, start: date, end: date, counters_only: bool = False
) -> list[ExecutionRollup]:
    """Rows of `start`…`end` (inclusive); their number depends on days × distinct values, never on volume.

    `counters_only` leaves the latency histogram out of the answer (less to send and parse when
    only sums are needed).
    """
    return list(
        ExecutionRollup.query(
            rollups.pk(tenant_id, dimension),
            ExecutionRollup.sk.between(f"{start.isoformat()}#", f"{end.isoformat()}#~"),
            attributes_to_get=COUNTER_ATTRIBUTES if counters_only else None,
        )
    )


def split_sk(row: ExecutionRollup) -> tuple[str, str]:
    day, _, value = row.sk.partition("#")
    return day, value
