"""Batch ingestion of log lines: validate everything first, then write idempotently.

Writes go in transactions of at most 100 items and about 3 MB (DynamoDB refuses a transaction over
4 MB; a message's case-folded copy can be three times its size): the lines of a chunk (each a put conditioned on its
key not existing yet) plus one counter update per run touched (atomic ADD of lines, errors,
warnings). A line already stored (a retry) fails its condition and cancels the transaction; the
chunk is then written again without the lines DynamoDB named, so a retry never duplicates a line
and never counts one twice. Chunks of a batch commit one after another: if a request dies half
way, its retry skips the chunks that landed.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError

from dashboard.accounts.scope import AccessScope
from dashboard.core import clock
from dashboard.core.errors import NotFound, ValidationFailed
from dashboard.dynamo import base
from dashboard.dynamo.transactions import cancellation_codes
from dashboard.logs import lines
from dashboard.logs.models import SEVERITIES, Experiment, ExperimentRun, RunLogLine
from dashboard.logs.services import get_experiment

MAX_BATCH = 500
MAX_MESSAGE = 8_000
MAX_FIELDS_BYTES = 8_000
MAX_COMPONENT = 64
TRANSACTION_ITEMS = 100
TRANSACTION_BYTES = 3_000_000
CONFLICT_RETRIES = 6


@dataclass
class IngestResult:
    accepted: int
    written: int

    @property
    def duplicates(self) -> int:
        return self.accepted - self.written


def _timestamp_ms(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            raise ValueError
        return clock.epoch_ms(moment)
    raise ValueError


def _check_line(raw: Any, now_ms: int) -> tuple[dict[str, Any] | None, list[str]]:
    """One line's cleaned values, or the list of what is wrong with it."""
    if not isinstance(raw, dict):
        return None, ["must be an object"]
    problems = []
    unknown = set(raw) - {"run_id", "ts", "severity", "component", "message", "fields", "seq"}
    if unknown:
        problems.append(f"unknown field(s) {', '.join(sorted(unknown))}")
    run_id = raw.get("run_id")
    if not isinstance(run_id, str) or not run_id or "#" in run_id or len(run_id) > 80:
        problems.append("run_id is required (a run of this experiment)")
    ts_ms = None
    try:
        ts_ms = _timestamp_ms(raw.get("ts"))
    except (ValueError, TypeError, OverflowError):
        problems.append("ts must be an ISO-8601 time with a zone or epoch milliseconds")
    if ts_ms is not None:
        if ts_ms < now_ms - int(lines.RETENTION.total_seconds() * 1000):
            problems.append("ts is older than the 30-day log retention")
        elif ts_ms > now_ms + 24 * 3600 * 1000:
            problems.append("ts is more than a day in the future")
    severity = raw.get("severity")
    if severity not in SEVERITIES:
        problems.append(f"severity must be one of {', '.join(SEVERITIES)}")
    component = raw.get("component", "main")
    if not isinstance(component, str) or not component.strip() or len(component) > MAX_COMPONENT:
        problems.append(f"component must be text of 1–{MAX_COMPONENT} characters")
    elif "#" in component:
        problems.append("component may not contain #")
    message = raw.get("message")
    if not isinstance(message, str) or not message.strip():
        problems.append("message is required")
    elif len(message) > MAX_MESSAGE:
        problems.append(f"message is longer than {MAX_MESSAGE} characters")
    fields = raw.get("fields")
    if fields is not None:
        if not isinstance(fields, dict):
            problems.append("fields must be an object")
        elif len(json.dumps(fields, default=str)) > MAX_FIELDS_BYTES:
            problems.append(f"fields are larger than {MAX_FIELDS_BYTES} bytes as JSON")
    seq = raw.get("seq")
    if seq is not None and (
        isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq < lines.SEQ_LIMIT
    ):
        problems.append("seq must be a whole number from 0 to 9,999,999,999")
    if problems:
        return None, problems
    return {
        "run_id": run_id,
        "ts_ms": ts_ms,
        "severity": severity,
        "component": component.strip(),
        "message": message,
        "fields": fields or None,
        "seq": seq,
    }, []


def parse_batch(payload: Any) -> list[Any]:
    """Accept one line object, a list of lines, or `{"lines": [...]}`."""
    if isinstance(payload, dict) and "lines" in payload:
        payload = payload["lines"]
    elif isinstance(payload, dict):
        payload = [payload]
    if not isinstance(payload, list) or not payload:
        raise ValidationFailed('Send one line, a list of lines, or {"lines": [...]}.', {"lines": "empty"})
    if len(payload) > MAX_BATCH:
        raise ValidationFailed(
            f"A batch holds at most {MAX_BATCH} lines; this one has {len(payload)}. Nothing was written.",
            {"lines": f"at most {MAX_BATCH}"},
        )
    return payload


def _runs_of(experiment: Experiment, run_ids: set[str]) -> dict[str, ExperimentRun]:
    found = ExperimentRun.batch_get([(experiment.experiment_key, run_id) for run_id in run_ids])
    return {run.run_id: run for run in found}


def _size(line: RunLogLine) -> int:
    """A generous estimate of the line's size as DynamoDB counts it (UTF-8 names and values)."""
    text = (line.message, line.message_folded or "", line.run_key, line.run_component, line.run_severity)
    fields = json.dumps(line.fields, ensure_ascii=False) if line.fields else ""
    return sum(len(part.encode("utf-8", "surrogatepass")) for part in (*text, fields)) + 400


def _build(experiment: Experiment, position: int, line: dict[str, Any]) -> RunLogLine:
    if line["seq"] is not None:
        tiebreak = lines.seq_tiebreak(line["seq"])
    else:
        tiebreak = lines.derived_tiebreak(position, {k: v for k, v in line.items() if k != "seq"})
    return lines.build(
        run_id=line["run_id"],
        experiment_id=experiment.experiment_id,
        tenant_id=experiment.tenant_id,
        ts_ms=line["ts_ms"],
        tiebreak=tiebreak,
        severity=line["severity"],
        component=line["component"],
        message=line["message"],
        fields=line["fields"],
    )


def ingest(scope: AccessScope, experiment_id: str, payload: Any) -> IngestResult:
    """Validate the whole batch (errors named by 1-based line number), then write it."""
    experiment = get_experiment(scope, experiment_id)
    raw_lines = parse_batch(payload)
    now_ms = clock.epoch_ms()
    cleaned: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    for number, raw in enumerate(raw_lines, start=1):
        line, problems = _check_line(raw, now_ms)
        if problems:
            errors[f"line {number}"] = "; ".join(problems)
        else:
            cleaned.append(line)
    if not errors:
        runs = _runs_of(experiment, {line["run_id"] for line in cleaned})
        for number, line in enumerate(cleaned, start=1):
            if line["run_id"] not in runs:
                errors[f"line {number}"] = f"run_id {line['run_id']} is not a run of this experiment"
    if errors:
        raise ValidationFailed(
            f"{len(errors)} of {len(raw_lines)} lines are not valid; nothing was written.", errors
        )
    built = [_build(experiment, pos, line) for pos, line in enumerate(cleaned)]
    unique = list({(line.run_key, line.sk): line for line in built}.values())
    written = 0
    chunk: list[RunLogLine] = []
    chunk_bytes = 0
    for line in unique:
        size = _size(line)
        runs_after = len({item.run_id for item in chunk} | {line.run_id})
        if chunk and (
            len(chunk) + 1 + runs_after > TRANSACTION_ITEMS or chunk_bytes + size > TRANSACTION_BYTES
        ):
            written += _write_chunk(experiment, chunk)
            chunk, chunk_bytes = [], 0
        chunk.append(line)
        chunk_bytes += size
    if chunk:
        written += _write_chunk(experiment, chunk)
    return IngestResult(accepted=len(raw_lines), written=written)


def _write_chunk(experiment: Experiment, chunk: list[RunLogLine]) -> int:
    """Write the chunk's new lines and their counters in one transaction; return how many were new."""
    pending = list(chunk)
    attempt = 0
    while pending:
        per_run: dict[str, Counter] = {}
        components: dict[str, set[str]] = {}
        for line in pending:
            components.setdefault(line.run_id, set()).add(line.component)
            counts = per_run.setdefault(line.run_id, Counter())
            counts["lines"] += 1
            if line.severity in lines.ERROR_SEVERITIES:
                counts["errors"] += 1
            elif line.severity == "warning":
                counts["warnings"] += 1
        try:
            with base.transact_write() as tx:
                for line in pending:
                    tx.save(line, condition=RunLogLine.sk.does_not_exist())
                for run_id, counts in per_run.items():
                    actions = [
                        ExperimentRun.line_count.add(counts["lines"]),
                        ExperimentRun.components.add(components[run_id]),
                    ]
                    if counts["errors"]:
                        actions.append(ExperimentRun.error_count.add(counts["errors"]))
                    if counts["warnings"]:
                        actions.append(ExperimentRun.warning_count.add(counts["warnings"]))
                    tx.update(
                        ExperimentRun(experiment.experiment_key, run_id),
                        actions=actions,
                        condition=ExperimentRun.run_id.exists(),
                    )
            return len(pending)
        except TransactWriteError as exc:
            codes = cancellation_codes(exc)
            if any(code == "ConditionalCheckFailed" for code in codes[len(pending) :]):
                raise NotFound("A run of this batch no longer exists.") from exc
            existing = {i for i, code in enumerate(codes[: len(pending)]) if code == "ConditionalCheckFailed"}
            if existing:
                # Retried lines are already stored (and counted): write only the others.
                pending = [line for i, line in enumerate(pending) if i not in existing]
                continue
            attempt += 1
            if attempt >= CONFLICT_RETRIES or not any(
                code in ("TransactionConflict", "ThrottlingError") for code in codes
            ):
                raise
            # Another batch is updating the same run counter right now: back off and try again.
            time.sleep(0.05 * 2**attempt)
    return 0
