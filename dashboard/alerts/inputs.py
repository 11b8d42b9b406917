"""A rule as typed values, cleaned once: what forms and services agree a rule is."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from dashboard.alerts import webhooks
from dashboard.alerts.models import (
    METRIC_WINDOWS,
    METRICS,
    NO_DATA,
    RULE_KINDS,
    SCOPES,
    WINDOWS,
)
from dashboard.core.errors import ValidationFailed

MAX_LIMIT_MICRO_USD = 10**15
SUBJECT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}")
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{1,60}")
DEFAULT_THRESHOLDS = (50, 80, 100)


@dataclass(frozen=True)
class RuleInput:
    name: str
    kind: str
    thresholds: tuple[int, ...] = ()
    subject: str = ""
    limit_micro_usd: int | None = None
    window: str = "month"
    enabled: bool = True
    # metric rules (kind "metric"); levels in the metric's unit: micro-USD, executions, hundredths of
    # a percent, milliseconds
    metric: str = ""
    scope: str = "tenant"
    warning: int | None = None
    critical: int | None = None
    no_data: str = "ok"
    renotify_minutes: int = 0


MAX_LEVEL = {"cost": MAX_LIMIT_MICRO_USD, "executions": 10**12, "error_rate": 10_000, "p95_ms": 86_400_000}
MAX_RENOTIFY_MINUTES = 7 * 24 * 60


def parse_thresholds(text: str) -> tuple[int, ...]:
    parts = [part.strip().rstrip("%") for part in (text or "").replace(";", ",").split(",") if part.strip()]
    if not parts:
        return DEFAULT_THRESHOLDS
    if not all(part.isdigit() and 1 <= int(part) <= 1000 for part in parts) or len(parts) > 10:
        raise ValidationFailed(
            "The thresholds are not valid.",
            {
                "thresholds": "Up to 10 whole percentages from 1 to 1000, separated by commas (e.g. 50, 80, 100)."
            },
        )
    return tuple(sorted({int(part) for part in parts}))


def parse_dollars(text: str, field: str = "limit") -> int | None:
    text = (text or "").strip().lstrip("$").replace(",", "")
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        amount = Decimal(-1)
    micro = int(amount * 1_000_000) if amount.is_finite() else -1
    if not 0 < micro <= MAX_LIMIT_MICRO_USD:
        raise ValidationFailed("The amount is not valid.", {field: "Enter an amount in dollars above $0."})
    return micro


def parse_level(metric: str, text: str, field: str) -> int | None:
    """A level as people write it, in the metric's stored unit: dollars → micro-USD, a percentage →
    hundredths of a percent, executions and milliseconds as whole numbers. Empty: no such level."""
    text = (text or "").strip().lstrip("$").rstrip("%").strip().replace(",", "")
    if not text:
        return None
    if metric == "cost":
        return parse_dollars(text, field)
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = Decimal(-1)
    scaled = number * 100 if metric == "error_rate" else number
    if (
        not number.is_finite()
        or scaled != scaled.to_integral_value()
        or not 0 < scaled <= MAX_LEVEL.get(metric, 0)
    ):
        hint = {
            "error_rate": "a percentage above 0 and up to 100, at most two decimals (e.g. 2.5)",
            "executions": "a whole number of executions above 0",
            "p95_ms": "a whole number of milliseconds above 0",
        }.get(metric, "a number above 0")
        raise ValidationFailed("The level is not valid.", {field: f"Enter {hint}."})
    return int(scaled)


def _clean_metric(raw: RuleInput, errors: dict[str, str]) -> None:
    if raw.metric not in METRICS:
        errors["metric"] = "Choose one of the listed metrics."
    if raw.scope not in SCOPES:
        errors["scope"] = "Choose one of the listed scopes."
    if raw.window not in METRIC_WINDOWS:
        errors["window"] = "Choose one of the listed windows."
    if raw.no_data not in NO_DATA:
        errors["no_data"] = "Choose what happens when there is no data."
    if raw.warning is None and raw.critical is None:
        errors["warning"] = "Give a warning level, a critical level or both."
    for field in ("warning", "critical"):
        level = getattr(raw, field)
        if level is not None and (
            not isinstance(level, int) or not 0 < level <= MAX_LEVEL.get(raw.metric, MAX_LIMIT_MICRO_USD)
        ):
            errors[field] = "The level is out of range for this metric."
    if raw.warning is not None and raw.critical is not None and raw.warning >= raw.critical:
        errors["critical"] = "The critical level must be above the warning level."
    if not isinstance(raw.renotify_minutes, int) or not 0 <= raw.renotify_minutes <= MAX_RENOTIFY_MINUTES:
        errors["renotify_minutes"] = f"Minutes from 0 (never) to {MAX_RENOTIFY_MINUTES} (a week)."


def clean_rule(raw: RuleInput) -> RuleInput:
    """Every rule passes here before it is saved (forms and services alike)."""
    errors: dict[str, str] = {}
    name = " ".join((raw.name or "").split())
    if not 1 <= len(name) <= 80:
        errors["name"] = "Give the rule a name of 1 to 80 characters."
    if raw.kind not in RULE_KINDS:
        errors["kind"] = "Choose one of the listed kinds."
    if raw.kind == "budget" and (
        len(raw.thresholds or ()) > 10
        or not all(isinstance(p, int) and 1 <= p <= 1000 for p in raw.thresholds or ())
    ):
        errors["thresholds"] = "Up to 10 whole percentages from 1 to 1000."
    metric = raw.kind == "metric"
    if metric:
        _clean_metric(raw, errors)
    elif raw.window not in WINDOWS:
        errors["window"] = "Choose a day or a month."
    spend = raw.kind in ("agent_spend", "user_spend")
    if spend and raw.limit_micro_usd is None:
        errors["limit"] = "A spend rule needs a limit in dollars."
    if raw.subject and not SUBJECT.fullmatch(raw.subject):
        errors["subject"] = "Letters, digits and . _ : @ - only (up to 128), or empty for each one."
    if errors:
        raise ValidationFailed("The rule is not valid; nothing was saved.", errors)
    if metric:
        return RuleInput(
            name=name,
            kind="metric",
            subject=raw.subject if raw.scope != "tenant" else "",
            window=raw.window,
            enabled=raw.enabled,
            metric=raw.metric,
            scope=raw.scope,
            warning=raw.warning,
            critical=raw.critical,
            no_data=raw.no_data,
            renotify_minutes=raw.renotify_minutes,
        )
    return RuleInput(
        name=name,
        kind=raw.kind,
        thresholds=tuple(sorted(set(raw.thresholds or DEFAULT_THRESHOLDS))) if raw.kind == "budget" else (),
        subject=raw.subject if spend else "",
        limit_micro_usd=raw.limit_micro_usd if spend else None,
        window=raw.window if spend else "month",
        enabled=raw.enabled,
    )


def clean_webhook_url(url: str, field: str = "webhook_url") -> str:
    """The same checks as at send time (dashboard/alerts/webhooks.py): syntax (Django's URLValidator),
    no userinfo, no whitespace or control characters, scheme and port allowed, every address public."""
    url = (url or "").strip()
    if not url:
        return ""
    try:
        webhooks.target(url)
    except webhooks.Refused as refused:
        raise ValidationFailed("The webhook is not valid.", {field: str(refused)}) from None
    return url


def clean_email(email: str) -> str:
    email = (email or "").strip()
    if email and not EMAIL.fullmatch(email):
        raise ValidationFailed("The email address is not valid.", {"email": "Enter one email address."})
    return email
