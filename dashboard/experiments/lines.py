"""How a log line is keyed, ranked and shown: the sort key, severities, retention and serialisation.

The sort key is `<ts_ms, 13 digits>#<tiebreak>`:
- time order comes first; the 13-digit zero-padded epoch milliseconds sort as text;
- the tiebreak keeps insertion order among lines with equal timestamps. It is the client's per-run
  line number `seq` (10 digits) when sent: a retry of the same line lands on the same key;
- without `seq`, it is derived from the batch: `d<position in batch, 4 digits><digest of the line>`.
  A retry of the same batch gives the same keys; order among equal timestamps holds inside a batch
  (clients that need it across batches send `seq`);
- the line `finish_run` writes uses `~end`, which sorts after every other tiebreak of its millisecond.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from dashboard.accounts.queries import retention_of
from dashboard.core import clock
from dashboard.experiments.models import LOG_TTL_DAYS, SEVERITIES, RunLogLine, experiment_key, run_key

END_TIEBREAK = "~end"
SK_PATTERN = re.compile(r"^\d{13}#(\d{10}|d\d{4}[0-9a-f]{12}|~end)$")
SEQ_LIMIT = 10**10
RETENTION = timedelta(days=LOG_TTL_DAYS)
ERROR_SEVERITIES = ("error", "critical")


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


def severities_at_or_above(minimum: str) -> tuple[str, ...]:
    return SEVERITIES[severity_rank(minimum) :]


def sort_key(ts_ms: int, tiebreak: str) -> str:
    return f"{ts_ms:013d}#{tiebreak}"


def seq_tiebreak(seq: int) -> str:
    return f"{seq:010d}"


def derived_tiebreak(position: int, content: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()
    return f"d{position:04d}{digest[:12]}"


def is_sort_key(value: str) -> bool:
    return bool(SK_PATTERN.match(value))


def retention(tenant_id: str | None) -> timedelta:
    """How long the tenant keeps its log lines (its retention setting; 30 days unless staff changed it)."""
    return timedelta(days=retention_of(tenant_id).logs_days) if tenant_id else RETENTION


def expiry_for(ts_ms: int, tenant_id: str | None = None) -> datetime:
    """A line lives its tenant's log retention from its own timestamp, so the oldest live key is known
    without queries."""
    return datetime.fromtimestamp(ts_ms / 1000, UTC) + retention(tenant_id)


def live_floor(key: str | None = None) -> str:
    """Sort keys below this belong to expired lines (DynamoDB deletes them late, DynamoDB Local never).
    `key`: the tenant id, or any log key (they all start with `<tenant>#`), whose retention applies."""
    tenant_id = key.split("#", 1)[0] if key else None
    return f"{clock.epoch_ms(clock.now() - retention(tenant_id)):013d}#"


def run_component(key: str, component: str) -> str:
    """The component GSI's key of a run's lines; `key` is the run's key (tenant#experiment#run)."""
    return f"{key}#{component}"


def run_severity(key: str, severity: str) -> str:
    return f"{key}#{severity}"


def timestamp(line: RunLogLine) -> datetime:
    return datetime.fromtimestamp(int(line.ts_ms) / 1000, UTC)


def iso(line: RunLogLine) -> str:
    return timestamp(line).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def as_dict(line: RunLogLine) -> dict[str, Any]:
    """The public shape of a line (API responses and NDJSON downloads)."""
    return {
        "run_id": line.run_id,
        "experiment_id": line.experiment_id,
        "cursor": line.sk,
        "ts": iso(line),
        "ts_ms": int(line.ts_ms),
        "severity": line.severity,
        "component": line.component,
        "message": line.message,
        "fields": line.fields or {},
    }


def as_text(line: RunLogLine) -> str:
    fields = " ".join(f"{key}={json.dumps(value)}" for key, value in (line.fields or {}).items())
    text = f"{iso(line)} {line.severity.upper():<8} [{line.component}] {line.message}"
    return f"{text} {fields}" if fields else text


def text_matches(text: str):
    """The filter condition of a text search, in any case.

    Lines written before `message_folded` existed still match on their exact text.
    """
    return RunLogLine.message_folded.contains(text.casefold()) | RunLogLine.message.contains(text)


def build(
    *,
    run_id: str,
    experiment_id: str,
    tenant_id: str,
    ts_ms: int,
    tiebreak: str,
    severity: str,
    component: str,
    message: str,
    fields: dict[str, Any] | None = None,
    final_status: str | None = None,
) -> RunLogLine:
    """An unsaved line with every derived key filled in (GSI keys, sort key, expiry)."""
    key = run_key(tenant_id, experiment_id, run_id)
    return RunLogLine(
        run_key=key,
        sk=sort_key(ts_ms, tiebreak),
        run_id=run_id,
        experiment_id=experiment_id,
        experiment_key=experiment_key(tenant_id, experiment_id),
        tenant_id=tenant_id,
        run_component=run_component(key, component),
        run_severity=run_severity(key, severity),
        ts_ms=ts_ms,
        severity=severity,
        component=component,
        message=message,
        message_folded=message.casefold(),
        fields=fields or None,
        final_status=final_status,
        expires_at=expiry_for(ts_ms, tenant_id),
    )


def closing(run, status: str, ts_ms: int) -> RunLogLine:
    """The last line of a finished run: the viewer stops polling once it has shown it."""
    duration_s = round(max(0, ts_ms / 1000 - run.started_at.timestamp()), 1)
    return build(
        run_id=run.run_id,
        experiment_id=run.experiment_id,
        tenant_id=run.tenant_id,
        ts_ms=ts_ms,
        tiebreak=END_TIEBREAK,
        severity="info",
        component="run",
        message=f"Run {status} after {duration_s:g} s",
        fields={"status": status, "duration_s": duration_s},
        final_status=status,
    )
