"""Typed input of the experiments area and its cleaning: log filters and positions, log lines."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import re2

from dashboard.core import clock
from dashboard.core.errors import ValidationFailed
from dashboard.experiments import lines
from dashboard.experiments.models import SEVERITIES

MAX_BATCH = 500
MAX_MESSAGE = 8_000
MAX_FIELDS_BYTES = 8_000
MAX_COMPONENT = 64


MAX_QUERY = 1_000  # characters of a search (a pattern's regular expression can be long)
MAX_WHERE = 300
MAX_CONDITIONS = 5
REGEX_MEMORY = 8 << 20  # bytes RE2 may use for one compiled pattern: a larger one is refused


class InvalidPattern(ValidationFailed):
    """A search pattern RE2 refuses: the API answers 400, the viewer says why beside the search box."""

    status = 400
    code = "invalid_pattern"


def compile_regex(pattern: str):
    """The pattern compiled by RE2 (linear time: no pattern can stall the server), or a clear message.

    RE2 refuses what would need backtracking (back-references, look-around) and patterns that would
    use more than REGEX_MEMORY bytes."""
    options = re2.Options()
    options.max_mem = REGEX_MEMORY
    options.log_errors = False
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        reason = (
            exc.args[0].decode("utf-8", "replace")
            if exc.args and isinstance(exc.args[0], bytes)
            else str(exc)
        )
        raise InvalidPattern(
            f"That regular expression is not valid: {reason}. Searches use RE2 syntax (no look-around or "
            "back-references).",
            {"q": f"invalid regular expression: {reason}"[:200]},
        ) from None


# --- field filters: `fields.epoch >= 10 and fields.phase == "train"` ---

FIELD_CONDITION = re.compile(
    r"""^\s*fields\.(?P<path>[A-Za-z_][\w-]{0,63}(?:\.[A-Za-z_][\w-]{0,63}){0,3})\s*"""
    r"""(?P<op>==|!=|>=|<=|=|>|<|~)\s*(?P<value>"(?:[^"\\]|\\.)*"|[^\s"]+)\s*$"""
)
FIELD_FILTER_HELP = (
    'Write fields.<name> <op> <value>, joined by "and": ops == != > >= < <= and ~ (text contains); '
    'values are numbers, true, false, null, "quoted text" or a bare word; e.g. fields.epoch >= 10 and '
    'fields.phase == "train".'
)
_MISSING = object()


@dataclass(frozen=True)
class FieldCondition:
    path: tuple[str, ...]
    op: str
    value: Any

    def matches(self, fields: dict | None) -> bool:
        """A line without the field never matches; numbers compare with numbers, text with text."""
        found: Any = fields or {}
        for name in self.path:
            found = found.get(name, _MISSING) if isinstance(found, dict) else _MISSING
        if found is _MISSING:
            return False
        if self.op == "~":
            return isinstance(found, str) and str(self.value).casefold() in found.casefold()
        if self.op in ("==", "!="):
            equal = _same(found, self.value)
            return equal if self.op == "==" else not equal
        number = _is_number(found) and _is_number(self.value)
        if not number and not (isinstance(found, str) and isinstance(self.value, str)):
            return False
        return {
            ">": found > self.value,
            ">=": found >= self.value,
            "<": found < self.value,
            "<=": found <= self.value,
        }[self.op]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same(a: Any, b: Any) -> bool:
    if _is_number(a) and _is_number(b):
        return a == b
    return type(a) is type(b) and a == b


def parse_where(text: str) -> tuple[FieldCondition, ...]:
    """A field filter, parsed (never evaluated as code); a clear message names what is wrong."""
    text = (text or "").strip()
    if not text:
        return ()
    if len(text) > MAX_WHERE:
        raise ValidationFailed(
            f"The field filter is longer than {MAX_WHERE} characters.", {"where": "too long"}
        )
    parts = re.split(r"\s+and\s+", text, flags=re.IGNORECASE)
    if len(parts) > MAX_CONDITIONS:
        raise ValidationFailed(
            f"A field filter joins at most {MAX_CONDITIONS} conditions.", {"where": "too many conditions"}
        )
    conditions = []
    for part in parts:
        match = FIELD_CONDITION.match(part)
        if not match:
            raise ValidationFailed(
                f"The field filter “{part.strip()[:60]}” is not understood. {FIELD_FILTER_HELP}",
                {"where": "not a field condition"},
            )
        raw = match["value"]
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw  # a bare word is text
        if isinstance(value, list | dict):
            value = raw
        if isinstance(value, float) and not math.isfinite(value):
            value = raw
        op = "==" if match["op"] == "=" else match["op"]
        if op in (">", ">=", "<", "<=") and not (_is_number(value) or isinstance(value, str)):
            raise ValidationFailed(
                f"“{match['op']}” compares with a number or text, not {raw}.", {"where": "not comparable"}
            )
        conditions.append(FieldCondition(tuple(match["path"].split(".")), op, value))
    return tuple(conditions)


def _moment(value: str, name: str) -> int | None:
    """`from`/`to`: epoch milliseconds or an ISO-8601 time (UTC when no zone is given)."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        if value.isdigit() and len(value) <= 13:
            return int(value)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        ms = clock.epoch_ms(moment)
        if not 0 <= ms < 10**13:
            raise ValueError
        return ms
    except (ValueError, OverflowError):
        raise ValidationFailed(
            f"The time “{value[:40]}” is not valid: give epoch milliseconds or an ISO-8601 time.",
            {name: "epoch milliseconds or ISO-8601"},
        ) from None


@dataclass(frozen=True)
class LogFilters:
    severity: str = ""  # minimum severity; "" = all
    component: str = ""
    text: str = ""
    regex: bool = False  # `text` is an RE2 regular expression
    where: str = ""  # a field filter (parse_where)
    start_ms: int | None = None  # the time window, inclusive, epoch ms
    end_ms: int | None = None

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
        regex = (params.get("regex") or "").strip().lower() in ("1", "true", "on", "yes", "t", "y")
        text = params.get("q") or ""
        if len(text) > MAX_QUERY:  # refused, not cut: a cut pattern would find other lines
            raise ValidationFailed(
                f"Search for at most {MAX_QUERY:,} characters.", {"q": f"at most {MAX_QUERY:,} characters"}
            )
        text = text if regex else text.strip()
        if regex and not text.strip():
            text, regex = "", False
        where = (params.get("where") or "").strip()
        start_ms, end_ms = _moment(params.get("from"), "from"), _moment(params.get("to"), "to")
        if start_ms is not None and end_ms is not None and end_ms < start_ms:
            raise ValidationFailed("The time window ends before it starts.", {"to": "before from"})
        filters = cls(
            severity=severity, component=component, text=text, regex=regex, where=where,
            start_ms=start_ms, end_ms=end_ms,
        )  # fmt: skip
        filters.check()
        return filters

    def check(self) -> None:
        """Compile the pattern and parse the field filter now, so a bad one is a clear 400/422 up front."""
        if self.regex:
            _ = self.pattern
        _ = self.conditions

    @cached_property
    def pattern(self):
        return compile_regex(self.text) if self.regex and self.text else None

    @cached_property
    def conditions(self) -> tuple[FieldCondition, ...]:
        return parse_where(self.where)

    @property
    def active(self) -> bool:
        return bool(self.severity or self.component or self.text or self.where or self.windowed)

    @property
    def windowed(self) -> bool:
        return self.start_ms is not None or self.end_ms is not None

    @property
    def reads_lines(self) -> bool:
        """Filtered here, line by line, rather than by DynamoDB (a regular expression, a field filter)."""
        return bool(self.pattern is not None or self.conditions)

    def matches(self, line) -> bool:
        """The filters DynamoDB cannot apply, on one line."""
        if self.pattern is not None and not self.pattern.search(line.message):
            return False
        return all(condition.matches(line.fields) for condition in self.conditions)

    def as_params(self) -> dict[str, str]:
        params = {
            "severity": self.severity,
            "component": self.component,
            "q": self.text,
            "regex": "1" if self.regex else "",
            "where": self.where,
            "from": str(self.start_ms) if self.start_ms is not None else "",
            "to": str(self.end_ms) if self.end_ms is not None else "",
        }
        return {key: value for key, value in params.items() if value}

    def without_window(self) -> LogFilters:
        return LogFilters(self.severity, self.component, self.text, self.regex, self.where)


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
