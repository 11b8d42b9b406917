"""Typed input values of the analytics pages and API: which period and which tenant a request reads,
and the filters of the execution history.

Reporting periods: whole UTC days, the last N days ending today, a calendar month, or a custom range.

Rolling periods compare with the previous period of equal length. A calendar month compares with the
previous calendar month, day for day: this month so far (Dec 1–7) with the same days of the previous
month (Nov 1–7, cut at its end: Mar 1–30 with Feb 1–28), and a whole month with the whole previous
month (Mar 1–31 with Feb 1–28). Comparing a week of December with all of November would read as a
74 % drop in spend. A custom range inside one month that starts on the 1st is taken the same way, so
the same dates always get the same comparison (page, CSV, API).
"""

from __future__ import annotations

import calendar
import hashlib
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Discriminator, Field, RootModel, Tag

from dashboard.accounts.queries import get_tenant
from dashboard.analytics.models import EXECUTION_STATUSES
from dashboard.core.clock import day_end, day_start
from dashboard.core.errors import NotFound, ValidationFailed
from dashboard.core.inputs import PATTERN_MESSAGES, Strict
from dashboard.core.scope import API, STAFF, TENANT_ADMIN, AccessScope

# Agent, execution, user and model ids: they become parts of keys, so no '#'.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$"
_ID = re.compile(ID_PATTERN)


def is_valid_id(value) -> bool:
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def check_agent_id(agent_id: str) -> None:
    """An id that cannot exist reads as an agent that does not (the pages' 404)."""
    if not is_valid_id(agent_id):
        raise NotFound("That agent was not found.")


PRESETS = (7, 30, 90)
MONTH_PRESETS = {"month": "This month", "last-month": "Last month"}
DEFAULT_DAYS = 30
MAX_DAYS = 366
# Reports start no earlier than this: the previous period of a range must still be a real date.
EARLIEST = date(2000, 1, 1)


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive
    preset: int | str | None = None  # 7 / 30 / 90, "month" or "last-month" when chosen from the picker

    @classmethod
    def month(cls, which: str, today: date) -> Period:
        first = today.replace(day=1)
        if which == "month":
            return cls(first, today, "month")
        last = first - timedelta(days=1)
        return cls(last.replace(day=1), last, "last-month")

    @classmethod
    def last(cls, days: int, today: date) -> Period:
        return cls(today - timedelta(days=days - 1), today, days if days in PRESETS else None)

    @classmethod
    def custom(cls, start: date, end: date, today: date) -> Period:
        errors = {}
        if end > today:
            errors["end"] = "The range cannot end after today."
        if start < EARLIEST:
            errors["start"] = f"Choose a start on or after {EARLIEST:%b %-d, %Y}."
        elif start > end:
            errors["start"] = "The start must be on or before the end."
        elif (end - start).days + 1 > MAX_DAYS:
            errors["start"] = f"Choose at most {MAX_DAYS} days."
        if errors:
            raise ValidationFailed("That date range is not valid.", errors)
        return cls(start, end)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def in_one_month(self) -> bool:
        """A calendar month or its first days (compared month over month, see the module docstring)."""
        starts_month = self.start.day == 1 and self.end.replace(day=1) == self.start
        return self.preset in MONTH_PRESETS or (self.preset is None and starts_month)

    @property
    def month_so_far(self) -> bool:
        """The first days of a month, not all of it (this month before its last day)."""
        return self.in_one_month and self.end.day < _month_length(self.end)

    @property
    def previous(self) -> Period:
        """What the change figures compare with: the period of the same length just before this one;
        for a calendar month the same days of the previous month (all of it for a whole month)."""
        if self.in_one_month:
            last = self.start - timedelta(days=1)  # the previous month's last day
            if self.month_so_far:
                return Period(last.replace(day=1), last.replace(day=min(self.end.day, last.day)))
            return Period(last.replace(day=1), last)
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    @property
    def compared_with(self) -> str:
        """The previous period in words, for the line next to the change figures ("Nov 1–7")."""
        before = self.previous
        text = span_label(before.start, before.end)
        if before.start.year == before.end.year != self.end.year:
            text += f", {before.end.year}"  # Jan 1–7 against Dec 1–7 of the year before
        return text

    def each_day(self) -> list[date]:
        return [self.start + timedelta(days=offset) for offset in range(self.days)]

    def start_iso(self) -> str:
        return day_start(self.start)

    def end_iso(self) -> str:
        return day_end(self.end)

    @property
    def label(self) -> str:
        if self.preset in MONTH_PRESETS:
            return f"{MONTH_PRESETS[self.preset]} ({self.start:%B %Y})"
        if self.preset:
            return f"Last {self.preset} days"
        return f"{self.start:%b %-d, %Y} – {self.end:%b %-d, %Y}"

    def query_args(self) -> dict[str, str]:
        if self.preset:
            return {"period": str(self.preset)}
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


def _month_length(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def span_label(start: date, end: date) -> str:
    """Short and never ambiguous: "Nov 1–7", "Nov 24 – Dec 7", "Dec 25, 2025 – Jan 7, 2026"."""
    if start.year != end.year:
        return f"{start:%b %-d, %Y} – {end:%b %-d, %Y}"
    if start.month != end.month:
        return f"{start:%b %-d} – {end:%b %-d}"
    if start == end:
        return f"{start:%b %-d}"
    return f"{start:%b %-d}–{end:%-d}"


# --- the tenant a request reads ------------------------------------------------------------

TENANT_ID = re.compile(r"[a-z0-9][a-z0-9-]{1,39}")


def resolve_tenant(scope: AccessScope, requested: str | None = None) -> str | None:
    """The tenant to read, or None for staff looking at every tenant.

    A tenant admin (or an API key) always reads its own tenant; naming another one is answered as
    not found. Staff read the tenant they name, else the switcher's focus, else all tenants.
    """
    scope.require_role(STAFF, TENANT_ADMIN, API)
    if requested and not TENANT_ID.fullmatch(requested):
        raise NotFound("That tenant was not found.")
    if scope.is_staff:
        if requested:
            get_tenant(requested)  # NotFound for an unknown tenant
            return requested
        return scope.tenant_id
    if requested:
        scope.check_tenant(requested, "That tenant")
    return scope.require_tenant()


# A status choice of the history filters that stands for every status but success: failed, timeout
# and cancelled are separate statuses, and "which runs went wrong" wants them together.
ANY_FAILURE = "any-failure"
FAILURE_STATUSES = ("failed", "timeout", "cancelled")


@dataclass(frozen=True)
class ExecutionFilters:
    agent_id: str | None = None
    status: str | None = None  # one status, or ANY_FAILURE
    user_id: str | None = None
    model: str | None = None
    start: date | None = None
    end: date | None = None
    environment: str | None = None
    tag: str | None = None
    session_id: str | None = None

    @property
    def dimensions(self) -> bool:
        """A filter no rollup holds (environment, tag, session): a filter expression on the key."""
        return bool(self.environment or self.tag or self.session_id)

    @property
    def statuses(self) -> tuple[str, ...]:
        """The statuses the filter lets through (empty: any status)."""
        if self.status == ANY_FAILURE:
            return FAILURE_STATUSES
        return (self.status,) if self.status else ()

    def fingerprint(self) -> str:
        return hashlib.sha256(repr(sorted(asdict(self).items())).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class OverviewFilter:
    """What the cost overview is narrowed to (issue #28 §2): one environment (every figure, from its
    sub-scope's rows), or one tag or one value of a counted metadata key (the headline, change and
    daily series, from that value's ranked rows)."""

    environment: str | None = None
    tag: str | None = None
    metadata_key: str | None = None
    metadata_value: str | None = None

    def __bool__(self) -> bool:
        return bool(self.environment or self.tag or self.metadata_key)

    @property
    def by_value(self) -> tuple[str, str] | None:
        """(ranked dimension, value) of a tag or metadata filter."""
        if self.tag:
            return "tag", self.tag
        if self.metadata_key:
            return f"meta.{self.metadata_key}", self.metadata_value or ""
        return None

    def query_args(self) -> dict[str, str]:
        pairs = [("environment", self.environment), ("tag", self.tag)]
        if self.metadata_key:
            pairs.append((f"{METADATA_PREFIX}{self.metadata_key}", self.metadata_value))
        return {name: value for name, value in pairs if value}


METADATA_PREFIX = "metadata."


def overview_filter(
    environment: str | None, tag: str | None, params: Mapping[str, str] | None = None
) -> OverviewFilter:
    """The overview's filter from a page's or the API's parameters (`metadata.<key>=<value>` among
    `params`); ValidationFailed names the parameter. One filter at a time: tags and metadata are not
    split by environment. Whether a metadata key is counted is the tenant's (overview.build checks)."""
    errors = {}
    metadata = [  # an empty one is no filter (the page's form sends one field a counted key)
        (name, value) for name, value in (params or {}).items() if name.startswith(METADATA_PREFIX) and value
    ]
    for name, value in metadata:
        key = name[len(METADATA_PREFIX) :]
        if not re.fullmatch(METADATA_KEY_PATTERN, key):
            errors[name] = PATTERN_MESSAGES[METADATA_KEY_PATTERN]
        elif not value or len(value) > MAX_METADATA_VALUE:
            errors[name] = f"Enter a value of 1–{MAX_METADATA_VALUE} characters."
    if environment and not re.fullmatch(ENVIRONMENT_PATTERN, environment):
        errors["environment"] = PATTERN_MESSAGES[ENVIRONMENT_PATTERN]
    if tag and not re.fullmatch(TAG_PATTERN, tag):
        errors["tag"] = PATTERN_MESSAGES[TAG_PATTERN]
    if not errors and len([f for f in (environment, tag, *metadata) if f]) > 1:
        last = metadata[-1][0] if metadata else "tag"
        errors[last] = (
            "Filter by one environment, tag or metadata value at a time: they are not split by each other."
        )
    if errors:
        raise ValidationFailed("That filter is not valid.", errors)
    if metadata:
        name, value = metadata[0]
        return OverviewFilter(metadata_key=name[len(METADATA_PREFIX) :], metadata_value=value)
    return OverviewFilter(environment or None, tag or None)


def parse_day(value: str | None, field: str, errors: dict[str, str]) -> date | None:
    """A YYYY-MM-DD query value as a date (None when absent); a wrong one is named in `errors`."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[field] = "Enter a valid date."
        return None


def chosen_period(preset: str | None, start: date | None, end: date | None, today: date) -> Period:
    """The period a page's picker or an API query asks for (the default when nothing is chosen):
    a custom range needs both ends; a month preset; the last N days."""
    if start or end or preset == "custom":
        if not (start and end):
            raise ValidationFailed(
                "Choose both ends of the date range.", {"start": "Pick a start and an end date."}
            )
        return Period.custom(start, end, today)
    if preset in MONTH_PRESETS:
        return Period.month(preset, today)
    return Period.last(int(preset or DEFAULT_DAYS), today)


def execution_filters(
    agent_id: str | None,
    status: str | None,
    user_id: str | None,
    model: str | None,
    start: date | None,
    end: date | None,
    errors: dict[str, str] | None = None,
    environment: str | None = None,
    tag: str | None = None,
    session_id: str | None = None,
) -> ExecutionFilters:
    """The history's filters as the page's form and the API take them (ids by the id rule, a range
    that starts on or before its end); ValidationFailed names each field that is wrong."""
    errors = dict(errors or {})
    for field, value in (("user", user_id), ("model", model), ("session_id", session_id)):
        if value and not is_valid_id(value):
            errors[field] = "Enter a valid value."
    if environment and not re.fullmatch(ENVIRONMENT_PATTERN, environment):
        errors["environment"] = PATTERN_MESSAGES[ENVIRONMENT_PATTERN]
    if tag and not re.fullmatch(TAG_PATTERN, tag):
        errors["tag"] = PATTERN_MESSAGES[TAG_PATTERN]
    if start and end and start > end:
        errors["start"] = "The start must be on or before the end."
    if errors:
        raise ValidationFailed("Those filters are not valid.", errors)
    return ExecutionFilters(
        agent_id=agent_id or None,
        status=status or None,
        user_id=user_id or None,
        model=model or None,
        start=start,
        end=end,
        environment=environment or None,
        tag=tag or None,
        session_id=session_id or None,
    )


# --- staff prices ----------------------------------------------------------------------------

PRICE_MODEL = re.compile(r"^[A-Za-z0-9*][A-Za-z0-9._:@/*-]{0,127}$")
MAX_RATE_MICRO_USD = 10**12  # $1,000,000 per million tokens: anything above is a typo
RATE_NAMES = ("input", "cache_read", "cache_write", "output", "reasoning")


@dataclass(frozen=True)
class PriceIn:
    """A staff price as the write consumes it: rates in micro-USD per 1,000,000 tokens."""

    model: str  # exact name or a pattern with *
    effective_from: date
    input: int
    output: int
    cache_read: int | None = None
    cache_write: int | None = None
    reasoning: int | None = None
    tenant_id: str | None = None  # None: every tenant (an override); else that tenant's contract
    provider: str | None = None
    note: str = ""

    @classmethod
    def clean(cls, **raw) -> PriceIn:
        """From form or JSON values (rates as USD per 1M tokens, strings or numbers); or ValidationFailed."""
        errors: dict[str, str] = {}
        model = str(raw.get("model") or "").strip()
        if not PRICE_MODEL.match(model):
            errors["model"] = (
                "Use a model name as sent (letters, digits, . _ : @ / -), with * for any run of characters."
            )
        elif model.replace("*", "") == "":
            errors["model"] = "A pattern needs at least one letter or digit."
        start = raw.get("effective_from")
        if isinstance(start, str):
            try:
                start = date.fromisoformat(start.strip())
            except ValueError:
                start = None
        if not isinstance(start, date) or start < EARLIEST:
            errors["effective_from"] = "Enter the first day the price applies, e.g. 2026-12-01."
        rates: dict[str, int | None] = {}
        for name in RATE_NAMES:
            value = raw.get(name)
            if value in (None, "") and name not in ("input", "output"):
                rates[name] = None
                continue
            try:
                micro = _usd_per_million(value)
            except ValueError:
                errors[name] = "Enter US dollars per 1 million tokens, e.g. 2.50 (0 or more)."
                continue
            rates[name] = micro
        provider = str(raw.get("provider") or "").strip().lower() or None
        if provider and not re.fullmatch(r"[a-z0-9._-]{1,64}", provider):
            errors["provider"] = "Use the provider's id, e.g. openai, anthropic, aws, google, azure."
        note = str(raw.get("note") or "").strip()
        if len(note) > 500:
            errors["note"] = "Keep the note under 500 characters."
        if errors:
            raise ValidationFailed("The price is not valid.", errors)
        return cls(
            model=model,
            effective_from=start,
            tenant_id=raw.get("tenant_id") or None,
            provider=provider,
            note=note,
            **rates,
        )


def _usd_per_million(value) -> int:
    from decimal import Decimal, InvalidOperation

    if isinstance(value, bool) or value is None:
        raise ValueError("not a number")
    try:
        amount = Decimal(str(value).strip().lstrip("$"))
    except InvalidOperation:
        raise ValueError("not a number") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError("not a number")
    micro = amount * 1_000_000
    if micro != micro.to_integral_value() or micro > MAX_RATE_MICRO_USD:
        raise ValueError("too precise or too large")
    return int(micro)


# --- an agent run: the one description the API's document, its check, the importer and the
# recording service share (what one field means is said once) ------------------------------------

BATCH_LIMIT = 25
PATTERN_MESSAGES[ID_PATTERN] = "Use 1–128 letters, digits or . _ : @ / - (no spaces or #)."
Id = Annotated[str, Field(pattern=ID_PATTERN)]
Moment = Annotated[str, Field(min_length=10, max_length=40, examples=["2026-11-30T12:00:00Z"])]
Count = Annotated[int, Field(ge=0, le=100_000_000)]

# Dimensions (issue #28): small on purpose — they ride on every execution item and every filter.
# environment: ≤ 40 id characters; session_id, flow_id: ids (≤ 128); tags: ≤ 10, each ≤ 40 letters,
# digits, spaces or . _ : @ / = - (no '#': a tag may become part of a key); metadata: ≤ 10 keys of
# ≤ 40 id characters, each value a string of ≤ 200 characters.
ENVIRONMENT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,39}$"
TAG_PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9 ._:@/=-]{0,38}[A-Za-z0-9._:@/=-])?$"
METADATA_KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,39}$"
MAX_TAGS, MAX_TAG_LENGTH = 10, 40
MAX_METADATA_KEYS, MAX_METADATA_VALUE = 10, 200
MAX_ENVIRONMENT = 40
PATTERN_MESSAGES[ENVIRONMENT_PATTERN] = "Use 1–40 letters, digits or . _ : @ / - (e.g. production)."
PATTERN_MESSAGES[TAG_PATTERN] = "Use 1–40 letters, digits, spaces or . _ : @ / = - (no #)."
PATTERN_MESSAGES[METADATA_KEY_PATTERN] = "Use keys of 1–40 letters, digits or . _ : -."
Environment = Annotated[str, Field(pattern=ENVIRONMENT_PATTERN, max_length=MAX_ENVIRONMENT)]
TagValue = Annotated[str, Field(pattern=TAG_PATTERN, max_length=MAX_TAG_LENGTH)]
MetadataKey = Annotated[str, Field(pattern=METADATA_KEY_PATTERN, max_length=40)]
MetadataValue = Annotated[str, Field(max_length=MAX_METADATA_VALUE)]


class RunIn(Strict):
    """One agent run. `execution_id` is the client's: sending the same id again records nothing new."""

    model_config = ConfigDict(strict=True, extra="forbid")
    execution_id: Id = Field(
        description="Client-chosen and idempotent: a retry with the same id counts once."
    )
    user_id: Id
    model: Id
    status: Literal[EXECUTION_STATUSES]  # type: ignore[valid-type]
    started_at: Moment
    finished_at: Moment | None = None
    duration_ms: int = Field(default=0, ge=0, le=86_400_000)
    input: str = ""
    output: str = ""
    tokens_in: Count = Field(default=0, description="Every input token, cached ones included.")
    tokens_out: Count = Field(default=0, description="Every output token, reasoning included.")
    tokens_cache_read: Count = Field(
        default=0, description="Input tokens read from the cache (part of tokens_in)."
    )
    tokens_cache_write: Count = Field(
        default=0, description="Input tokens written to the cache (part of tokens_in)."
    )
    tokens_reasoning: Count = Field(default=0, description="Reasoning tokens (part of tokens_out).")
    provider: str | None = Field(
        default=None,
        max_length=64,
        description="The provider (openai, anthropic, aws.bedrock, …): helps price the model.",
    )
    cost_micro_usd: int = Field(
        default=0,
        ge=0,
        le=1_000_000_000_000,
        description="Send only to override the price: kept as sent and labelled as the client's.",
    )
    error: str | None = None
    environment: Environment | None = Field(
        default=None, description="Where it ran: production, staging, … (1–40 id characters)."
    )
    session_id: Id | None = Field(default=None, description="The conversation or job the run belongs to.")
    tags: list[TagValue] | None = Field(
        default=None, max_length=MAX_TAGS, description="Up to 10 short labels (feature, customer tier…)."
    )
    metadata: dict[MetadataKey, MetadataValue] | None = Field(
        default=None,
        max_length=MAX_METADATA_KEYS,
        description="Up to 10 string values by key (values up to 200 characters).",
    )
    flow_id: Id | None = Field(default=None, description="The studio flow that ran.")


class RunBatch(Strict):
    model_config = ConfigDict(strict=True, extra="forbid")
    runs: list[RunIn] = Field(min_length=1, max_length=BATCH_LIMIT)


def _shape(value: Any) -> str:
    return "~batch" if isinstance(value, dict) and "runs" in value else "~one"


class RunsIn(RootModel):
    """One run, or `{"runs": [...]}` with up to 25; nothing is recorded when any run is invalid."""

    root: Annotated[Annotated[RunIn, Tag("~one")] | Annotated[RunBatch, Tag("~batch")], Discriminator(_shape)]


def runs_of(body: RunsIn) -> tuple[list[RunIn], bool]:
    """The runs a body holds, and whether it was a batch (its errors then name `runs[i]`)."""
    if isinstance(body.root, RunBatch):
        return body.root.runs, True
    return [body.root], False
