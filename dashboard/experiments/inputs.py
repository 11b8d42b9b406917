"""Typed input of the experiments area and its cleaning: log filters and positions, log lines."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dashboard.core import clock
from dashboard.core.errors import ValidationFailed
from dashboard.experiments import lines
from dashboard.experiments.models import SEVERITIES

MAX_BATCH = 500
MAX_MESSAGE = 8_000
MAX_FIELDS_BYTES = 8_000
MAX_COMPONENT = 64


@dataclass(frozen=True)
class LogFilters:
    severity: str = ""  # minimum severity; "" = all
    component: str = ""
    text: str = ""

    @classmethod
    def from_params(cls, params: Any) -> LogFilters:
        severity = (params.get("severity") or "").strip().lower()
        if severity and severity not in SEVERITIES:
            raise ValidationFailed("Unknown severity.", {"severity": f"one of {', '.join(SEVERITIES)}"})
        if severity == SEVERITIES[0]:
            severity = ""  # "debug and above" is everything
        component = (params.get("component") or "").strip()
        if "#" in component or len(component) > 64:
            raise ValidationFailed("Unknown component.", {"component": "a component name"})
        text = (params.get("q") or "").strip()[:200]
        return cls(severity=severity, component=component, text=text)

    @property
    def active(self) -> bool:
        return bool(self.severity or self.component or self.text)

    def as_params(self) -> dict[str, str]:
        params = {"severity": self.severity, "component": self.component, "q": self.text}
        return {key: value for key, value in params.items() if value}


def check_position(value: str | None, name: str) -> str | None:
    if not value:
        return None
    if not lines.is_sort_key(value):
        raise ValidationFailed("That log position is not valid; reload the page.", {name: "invalid"})
    return value


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


def clean_line(raw: Any, now_ms: int) -> tuple[dict[str, Any] | None, list[str]]:
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


# --- metric points of a run ---

MAX_POINTS_PER_BATCH = 1_000
MAX_POINTS_PER_RUN = 20_000  # what a run's charts read at most (one Query page per metric)
MAX_METRICS_PER_RUN = 50  # final_metrics stays far below DynamoDB's 400 KB item limit
MAX_STEP = 10**12 - 1  # the point key pads steps to 12 digits
METRIC_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-/@]{0,63}$")


@dataclass(frozen=True)
class MetricPoint:
    name: str
    step: int
    value: float


def clean_metric_points(payload: Any) -> list[MetricPoint]:
    """`{"points": [{"step", "name", "value"}, …]}` (or the bare list): every point checked first,
    problems named by their path; the last of duplicate (name, step) points wins."""
    raw = payload.get("points") if isinstance(payload, dict) else payload
    if isinstance(payload, dict) and set(payload) - {"points"}:
        unknown = ", ".join(sorted(set(payload) - {"points"}))
        raise ValidationFailed(
            'Send the points as {"points": [...]}.', {"body": f"unknown field(s) {unknown}"}
        )
    if not isinstance(raw, list) or not raw:
        raise ValidationFailed(
            'Send at least one metric point: {"points": [{"step": 1, "name": "loss", "value": 0.5}]}.',
            {"points": "a non-empty list"},
        )
    if len(raw) > MAX_POINTS_PER_BATCH:
        raise ValidationFailed(
            f"At most {MAX_POINTS_PER_BATCH} points per request; send the rest in another.",
            {"points": f"at most {MAX_POINTS_PER_BATCH}"},
        )
    errors: dict[str, str] = {}
    points: dict[tuple[str, int], MetricPoint] = {}
    for index, item in enumerate(raw):
        where = f"points[{index}]"
        if not isinstance(item, dict):
            errors[where] = "must be an object with step, name and value"
            continue
        unknown = set(item) - {"step", "name", "value"}
        if unknown:
            errors[where] = f"unknown field(s) {', '.join(sorted(unknown))}"
            continue
        name, step, value = item.get("name"), item.get("step"), item.get("value")
        if not isinstance(name, str) or not METRIC_NAME.match(name):
            errors[f"{where}.name"] = "a metric name: a letter, then letters, digits, _ . - / @ (at most 64)"
        if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= MAX_STEP:
            errors[f"{where}.step"] = f"a whole number from 0 to {MAX_STEP}"
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            errors[f"{where}.value"] = "a finite number"
        if not any(key.startswith(where) for key in errors):
            points[(name, step)] = MetricPoint(name, step, value)
    if errors:
        raise ValidationFailed(
            f"{len({key.split('.')[0] for key in errors})} of {len(raw)} points are not valid; nothing was recorded.",
            errors,
        )
    return list(points.values())
