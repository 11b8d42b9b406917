"""A rule as typed values, cleaned once: what forms and services agree a rule is."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from dashboard.alerts import webhooks
from dashboard.alerts.models import RULE_KINDS, WINDOWS
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


def clean_rule(raw: RuleInput) -> RuleInput:
    """Every rule passes here before it is saved (forms and services alike)."""
    errors: dict[str, str] = {}
    name = " ".join((raw.name or "").split())
    if not 1 <= len(name) <= 80:
        errors["name"] = "Give the rule a name of 1 to 80 characters."
    if raw.kind not in RULE_KINDS:
        errors["kind"] = "Choose one of the listed kinds."
    if raw.window not in WINDOWS:
        errors["window"] = "Choose a day or a month."
    spend = raw.kind in ("agent_spend", "user_spend")
    if spend and raw.limit_micro_usd is None:
        errors["limit"] = "A spend rule needs a limit in dollars."
    if raw.subject and not SUBJECT.fullmatch(raw.subject):
        errors["subject"] = "Letters, digits and . _ : @ - only (up to 128), or empty for each one."
    if errors:
        raise ValidationFailed("The rule is not valid; nothing was saved.", errors)
    return RuleInput(
        name=name,
        kind=raw.kind,
        thresholds=tuple(raw.thresholds or DEFAULT_THRESHOLDS) if raw.kind == "budget" else (),
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
