"""OTLP log records → run log lines, written through `dashboard.experiments.services.ingest` per experiment.

Mapping:
- run: `diatonic.experiment_id` and `diatonic.run_id`, on the record or else on its resource;
- severity: `severity_number` (1–8 debug, 9–12 info, 13–16 warning, 17–20 error, 21–24 critical),
  else `severity_text` (trace/debug, info, warn/warning, error, fatal/critical), else info;
- component: `diatonic.component`, else the instrumentation scope's name, else `main`;
- message: the body (text as sent; any other value as compact JSON), cut to 8,000 characters;
- fields: the record's other attributes (the resource's are not repeated on every line; texts cut
  to FIELD_TEXT_LIMIT characters), plus the record's trace and span ids when it has them;
- time: `time_unix_nano`, else `observed_time_unix_nano`, else now.

Records are grouped by experiment and handed to `ingest` (which validates a whole batch and writes
nothing when any line is invalid): the lines it names as invalid are rejected and the rest sent
again, so one bad record never stops the others. An unknown experiment, another tenant's
experiment, or a run that is not of the experiment rejects those records only. Rejected records are
counted and their reasons told back (OTLP partial success); nothing of them is written.

Each line gets a `seq` made from the record's nanoseconds within its millisecond and a digest of
its content, so records keep their order within a millisecond and the same record exported twice
lands on the same key (counted once).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from typing import Any

from dashboard.core import clock
from dashboard.core.errors import NotFound, PermissionDenied, ValidationFailed
from dashboard.core.otlp import Acceptance, any_value, as_text, attributes, clean
from dashboard.core.scope import AccessScope
from dashboard.experiments import inputs, services

EXPERIMENT_KEY = "diatonic.experiment_id"
RUN_KEY = "diatonic.run_id"
COMPONENT_KEY = "diatonic.component"
_TEXT_SEVERITIES = {
    "trace": "debug",
    "debug": "debug",
    "info": "info",
    "notice": "info",
    "warn": "warning",
    "warning": "warning",
    "error": "error",
    "fatal": "critical",
    "critical": "critical",
}
_LINE = re.compile(r"^lines\[(\d+)\]$")  # how `ingest` names a line it refuses
FIELD_TEXT_LIMIT = 2_000  # characters kept of one text attribute (exception.stacktrace, say)
MAX_PASSES = 4  # ingest checks lines, then runs: two failures are the most one batch can have
# Records one export may write (the rest are rejected with the reason, OTLP partial success): bounds
# the work of one request as the trace receiver's limits do.
MAX_RECORDS_PER_EXPORT = 5_000


def severity(number: int, text: str) -> str:
    if 1 <= number <= 8:
        return "debug"
    if 9 <= number <= 12:
        return "info"
    if 13 <= number <= 16:
        return "warning"
    if 17 <= number <= 20:
        return "error"
    if 21 <= number <= 24:
        return "critical"
    word = re.sub(r"[^a-z]", "", (text or "").lower())
    return _TEXT_SEVERITIES.get(word, "info")


def _seq(time_ns: int, line: dict[str, Any]) -> int:
    digest = hashlib.sha256(json.dumps(line, sort_keys=True, default=str).encode()).digest()
    return (time_ns % 1_000_000) * 10_000 + int.from_bytes(digest[:4], "big") % 10_000


def line_of(record: Any, resource: dict[str, Any], scope_name: str) -> tuple[str | None, dict[str, Any]]:
    """(experiment id, the line for `ingest`) of one LogRecord."""
    attrs = attributes(record.attributes)
    experiment_id = attrs.pop(EXPERIMENT_KEY, None) or resource.get(EXPERIMENT_KEY)
    run_id = attrs.pop(RUN_KEY, None) or resource.get(RUN_KEY)
    component = attrs.pop(COMPONENT_KEY, None) or resource.get(COMPONENT_KEY) or clean(scope_name) or "main"
    if record.trace_id:
        attrs["trace_id"] = record.trace_id.hex()
    if record.span_id:
        attrs["span_id"] = record.span_id.hex()
    time_ns = record.time_unix_nano or record.observed_time_unix_nano or clock.epoch_ms() * 1_000_000
    line: dict[str, Any] = {
        "run_id": as_text(run_id) if run_id is not None else None,
        "ts": time_ns // 1_000_000,
        "severity": severity(record.severity_number, clean(record.severity_text)),
        "component": as_text(component).replace("#", "-")[: inputs.MAX_COMPONENT],
        "message": _cut(as_text(_body(record)), inputs.MAX_MESSAGE),
    }
    if attrs:
        line["fields"] = {key: _cut(value, FIELD_TEXT_LIMIT) for key, value in attrs.items()}
    line["seq"] = _seq(time_ns, line)
    return (as_text(experiment_id) if experiment_id is not None else None), line


def _cut(value: Any, limit: int) -> Any:
    """Long text (a traceback, a prompt) is cut rather than losing the whole record."""
    if isinstance(value, str) and len(value) > limit:
        return value[: limit - 1] + "…"
    return value


def _body(record: Any) -> Any:
    return any_value(record.body) if record.HasField("body") else None


def accept(scope: AccessScope, request: Any) -> Acceptance:
    """Write the records of an ExportLogsServiceRequest that name a run of the key's tenant."""
    result = Acceptance("log record")
    by_experiment: dict[str, list[dict[str, Any]]] = defaultdict(list)
    kept = 0
    for resource_logs in request.resource_logs:
        resource = attributes(resource_logs.resource.attributes)
        for scope_logs in resource_logs.scope_logs:
            for record in scope_logs.log_records:
                experiment_id, line = line_of(record, resource, scope_logs.scope.name)
                if not experiment_id or not line["run_id"]:
                    result.reject(f"a record needs {EXPERIMENT_KEY} and {RUN_KEY} (on it or its resource)")
                    continue
                if kept >= MAX_RECORDS_PER_EXPORT:
                    result.reject(
                        f"an export holds at most {MAX_RECORDS_PER_EXPORT} log records; send the rest in another export"
                    )
                    continue
                kept += 1
                by_experiment[experiment_id].append(line)
    for experiment_id, lines in by_experiment.items():
        for start in range(0, len(lines), inputs.MAX_BATCH):
            _write(scope, experiment_id, lines[start : start + inputs.MAX_BATCH], result)
    return result


def _write(scope: AccessScope, experiment_id: str, lines: list[dict[str, Any]], result: Acceptance) -> None:
    for _ in range(MAX_PASSES):
        if not lines:
            return
        try:
            outcome = services.ingest(scope, experiment_id, {"lines": lines})
        except (NotFound, PermissionDenied):
            result.reject(f"experiment {experiment_id[:80]} is not one of this key's tenant", len(lines))
            return
        except ValidationFailed as exc:
            bad = {}
            for name, reason in exc.fields.items():
                match = _LINE.match(name)
                if match and int(match.group(1)) < len(lines):
                    bad[int(match.group(1))] = reason
            if not bad:  # the batch as a whole was refused: nothing in it can be written
                result.reject(exc.message, len(lines))
                return
            for reason in bad.values():
                result.reject(reason)
            lines = [line for index, line in enumerate(lines) if index not in bad]
            continue
        result.written += outcome.written
        return
    result.reject("the records could not be written", len(lines))
