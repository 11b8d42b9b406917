"""Metric rules: cost, executions, error rate or p95 latency of the tenant, a model, an agent, a user,
an environment or a tag, over a calendar period or a rolling window of days or hours, against a
warning and a critical level.

Reading: only the rollups, through `analytics.queries.window_totals` (one query or one batch read per
rule and window; a 1 h or 24 h window reads the hourly rows of its 2 or 25 hours in one query or one
batch read of 100 keys per 4 subjects; p95 latency of a named agent, user, environment or tag over
days: one batch read of its day rows, the ranked rows that keep the histogram), so an evaluation's
cost does not grow with the number of executions. An "each agent/user/environment/tag" cost rule on
hours first takes the values whose days cost at least its lowest level (one `top` read), then their
hours; "each" on executions, error rate or p95 latency reads every value of the window
(`window_every`: calls grow with the window's values, never with its executions).

Deciding, per rule and subject, against its `AlertState` row:
- a level above the highest already notified in this period (calendar) or episode (rolling) fires
  that level: "once per window per level"; a jump straight to critical fires critical only;
- back under the warning level (or no data with the "ok" policy) resolves an open alert, which is
  told too; a rolling window's episode ends there, so a later crossing fires again; a calendar period's
  levels stay spent until the next period;
- still over after `renotify_minutes` since the last notice: a reminder at the current level;
- no executions in the window: the rule's no-data policy (fine, keep as is, or alert once).

Exactly once: each change is one transaction — the state row's conditional update (the condition is
the state this evaluator read) plus the firing's put (key absent). Of any number of evaluators that
see the same change, one transaction lands; the others' conditions fail, they read the state again
and find nothing left to do.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from dashboard.alerts import drivers as why
from dashboard.alerts.models import (
    LEVELS,
    METRIC_WINDOWS,
    METRICS,
    PENDING,
    ROLLING_DAYS,
    ROLLING_HOURS,
    SCOPES,
    AlertFiring,
    AlertRule,
    AlertState,
)
from dashboard.analytics.queries import window_every, window_totals
from dashboard.analytics.rollups import TOTAL_VALUE, Totals
from dashboard.core import clock
from dashboard.core.money import money
from dashboard.dynamo.transactions import with_retries

log = logging.getLogger(__name__)
EACH_SUBJECT_TOP = 100  # an "each agent/user" cost rule looks at this many of the costliest


@dataclass(frozen=True)
class Window:
    """Whole days (`start`, `end` dates), or whole hours (datetimes: the first and last hour's start)."""

    start: date
    end: date
    period: str  # the calendar period ("2026-12-07", "2026-12"), or "rolling"

    @property
    def hourly(self) -> bool:
        return isinstance(self.start, datetime)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def hours(self) -> int:
        return int((self.end - self.start) / timedelta(hours=1)) + 1

    @property
    def first_day(self) -> date:
        return self.start.date() if self.hourly else self.start

    @property
    def last_day(self) -> date:
        return self.end.date() if self.hourly else self.end

    @property
    def length(self) -> str:
        return f"{self.hours} hour(s)" if self.hourly else f"{self.days} day(s)"

    @property
    def label(self) -> str:
        if self.hourly:
            return f"{self.start:%Y-%m-%dT%H:00}…{self.end:%Y-%m-%dT%H:59} UTC"
        return f"{self.start}…{self.end}"


def window_of(rule: AlertRule, now: date | datetime) -> Window:
    """The window a rule reads at `now` (a day's date is enough for the windows of days)."""
    if rule.window in ROLLING_HOURS:
        last = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        return Window(last - timedelta(hours=ROLLING_HOURS[rule.window]), last, "rolling")
    today = now.date() if isinstance(now, datetime) else now
    if rule.window == "day":
        return Window(today, today, today.isoformat())
    if rule.window == "month":
        return Window(today.replace(day=1), today, today.strftime("%Y-%m"))
    days = ROLLING_DAYS[rule.window]
    return Window(today - timedelta(days=days - 1), today, "rolling")


def previous_window(rule: AlertRule, window: Window) -> Window:
    """The equal window just before (a calendar month: the whole previous month)."""
    if window.hourly:
        length = timedelta(hours=window.hours)
        return Window(window.start - length, window.end - length, "previous")
    if rule.window == "month":
        last = window.start - timedelta(days=1)
        return Window(last.replace(day=1), last, last.strftime("%Y-%m"))
    return Window(window.start - timedelta(days=window.days), window.start - timedelta(days=1), "previous")


def value_of(metric: str, totals: Totals) -> int | None:
    """The metric in its stored unit; None when there is nothing to measure."""
    if metric == "cost":
        return int(totals.cost_micro_usd)
    if metric == "executions":
        return int(totals.count)
    if not totals.count:
        return None
    if metric == "error_rate":
        return totals.failures * 10_000 // totals.count  # hundredths of a percent
    return totals.p95_ms


def reaches(metric: str, totals: Totals, level: int) -> bool:
    """Exact comparisons: an error rate as failures × 10 000 ≥ level × count, no rounding."""
    if metric == "error_rate":
        return totals.count > 0 and totals.failures * 10_000 >= level * totals.count
    value = value_of(metric, totals)
    return value is not None and value >= level


def show(metric: str, value: int | None) -> str:
    if value is None:
        return "no data"
    if metric == "cost":
        return money(value)
    if metric == "error_rate":
        return f"{value / 100:.2f} %"
    if metric == "p95_ms":
        return f"{value:,} ms"
    return f"{value:,}"


def observed(rule: AlertRule, totals: Totals) -> str | None:
    """critical | warning | nodata | None (under the levels) | "keep" (no data, leave it be)."""
    if not totals.count:
        policy = rule.no_data or "ok"
        if policy == "keep":
            return "keep"
        if policy == "alert":
            return "nodata"
        return None
    if rule.critical is not None and reaches(rule.metric, totals, int(rule.critical)):
        return "critical"
    if rule.warning is not None and reaches(rule.metric, totals, int(rule.warning)):
        return "warning"
    return None


def _what(rule: AlertRule, subject: str) -> str:
    if rule.scope == "tenant":
        return "the tenant"
    return f"the {rule.scope} {subject}"


def message(rule: AlertRule, subject: str, level: str, totals: Totals) -> str:
    metric = METRICS[rule.metric]
    where = f"{_what(rule, subject)} over {METRIC_WINDOWS[rule.window]}"
    value = show(rule.metric, value_of(rule.metric, totals))
    if level == "nodata":
        return f"No executions of {where}: no data to measure {metric.lower()}."
    if level == "resolved":
        return f"{metric} of {where} is back under the warning level: {value}."
    limit = rule.critical if level == "critical" else rule.warning
    return f"{metric} of {where} is {value}, at or over the {level} level of {show(rule.metric, int(limit))}."


def readings(tenant_id: str, rule: AlertRule, window: Window, open_subjects: list[str]) -> dict[str, Totals]:
    """{subject: totals} the rule looks at; subjects whose alert is open are always among them, so
    they can resolve even after leaving a top list."""
    histogram = rule.metric == "p95_ms"
    if rule.scope == "tenant":
        return window_totals(tenant_id, "tenant", window.start, window.end, histogram=histogram)
    if rule.subject:
        return window_totals(
            tenant_id, rule.scope, window.start, window.end, [rule.subject], histogram=histogram
        )
    if rule.metric != "cost" and rule.scope != "model":  # every model is one query of their rows
        # "each" on executions, error rate or latency: no cost-ordered list finds the values over a
        # level (an agent failing fast costs little), so every value of the window is read.
        found = window_every(tenant_id, rule.scope, window.start, window.end, histogram=histogram)
        return {**{subject: Totals() for subject in open_subjects}, **found}
    levels = [int(level) for level in (rule.warning, rule.critical) if level is not None]
    # "each" on cost: the costliest, and a value whose window costs a level costs it over its days too
    at_least = min(levels) if levels else None
    found = window_totals(
        tenant_id,
        rule.scope,
        window.start,
        window.end,
        k=EACH_SUBJECT_TOP,
        histogram=histogram,
        at_least=at_least,
    )
    missing = [subject for subject in open_subjects if subject not in found]
    if missing:
        found = {
            **found,
            **window_totals(tenant_id, rule.scope, window.start, window.end, missing, histogram=histogram),
        }
    return found


def _state_key(rule: AlertRule, subject: str) -> str:
    return f"{rule.rule_id}#{subject}"


def states(tenant_id: str) -> dict[str, AlertState]:
    """Every state row of the tenant (one query: rules × subjects with an alert, bounded)."""
    return {state.key: state for state in AlertState.query(tenant_id)}


@dataclass
class Change:
    level: str  # critical | warning | nodata | resolved
    reminder: bool = False


def decide(
    rule: AlertRule, state: AlertState | None, seen: str | None, period: str, now: datetime
) -> Change | None:
    same = state is not None and state.period == period
    top = int(state.max_level) if same else 0
    active = bool(state.active) if same else False
    if seen == "keep":
        return None
    if seen is None:
        return Change("resolved") if active else None
    rank = LEVELS[seen]
    if rank > top:
        return Change(seen)
    if active and rule.renotify_minutes:
        due = clock.parse_iso(state.notified_at) + timedelta(minutes=int(rule.renotify_minutes))
        if now >= due:
            return Change(seen, reminder=True)
    return None


def evaluate_rule(
    tenant_id: str, rule: AlertRule, now: datetime, known: dict[str, AlertState]
) -> list[AlertFiring]:
    """The firings this call won for one metric rule (claimed, not yet delivered)."""
    window = window_of(rule, now)
    prefix = f"{rule.rule_id}#"
    open_subjects = [
        key[len(prefix) :] for key, state in known.items() if key.startswith(prefix) and state.active
    ]
    won = []
    for subject, totals in readings(tenant_id, rule, window, open_subjects).items():
        subject = "" if subject == TOTAL_VALUE and rule.scope == "tenant" else subject
        seen = observed(rule, totals)
        change = decide(rule, known.get(_state_key(rule, subject)), seen, window.period, now)
        if change is None:
            continue
        firing = _claim(tenant_id, rule, subject, window, totals, now)
        if firing is not None:
            won.append(firing)
    return won


def _claim(
    tenant_id: str, rule: AlertRule, subject: str, window: Window, totals: Totals, now: datetime
) -> AlertFiring | None:
    """Write the change and its firing together, once; None when another evaluator already did."""
    key = _state_key(rule, subject)
    stamp = clock.iso_ms(now)
    result: list[AlertFiring] = []
    reasons: dict = {}

    def prepare():
        try:
            state = AlertState.get(tenant_id, key, consistent_read=True)
        except AlertState.DoesNotExist:
            state = None
        change = decide(rule, state, observed(rule, totals), window.period, now)
        if change is None:
            return None
        same = state is not None and state.period == window.period
        continuing = same and bool(state.active)
        level = change.level
        if level != "resolved" and "drivers" not in reasons:
            reasons["drivers"] = why.drivers(tenant_id, rule, subject, window, totals)
        new = AlertState(
            tenant_id=tenant_id,
            key=key,
            period=window.period,
            max_level=(
                (0 if window.period == "rolling" else int(state.max_level))
                if level == "resolved"
                else max(LEVELS[level], int(state.max_level) if same else 0)
            ),
            active=level != "resolved",
            since=state.since if continuing else stamp,
            notified_at=stamp,
        )
        episode = new.since if window.period == "rolling" else window.period
        suffix = f"#reminder#{stamp}" if change.reminder else ""
        if level == "resolved":
            suffix = f"#{stamp}"
        limit = {"critical": rule.critical, "warning": rule.warning}.get(level)
        value = value_of(rule.metric, totals)
        firing = AlertFiring(
            tenant_id=tenant_id,
            key=f"{rule.rule_id}#{episode}#{level}{suffix}" + (f"#{subject}" if subject else ""),
            rule_id=rule.rule_id,
            rule_name=rule.name,
            kind="metric",
            period=window.period if window.period != "rolling" else window.label,
            threshold=level,
            subject=subject,
            value_micro_usd=int(totals.cost_micro_usd),
            limit_micro_usd=int(limit) if rule.metric == "cost" and limit is not None else 0,
            message=("Reminder: " if change.reminder else "") + message(rule, subject, level, totals),
            level=level,
            metric=rule.metric,
            value=value,
            limit=int(limit) if limit is not None else None,
            drivers=None if level == "resolved" else reasons.get("drivers"),
            fired_at=stamp,
            pending=PENDING,
        )
        if state is None:
            condition = AlertState.key.does_not_exist()
        else:
            condition = (AlertState.notified_at == state.notified_at) & (AlertState.period == state.period)

        def build(tx) -> None:
            tx.save(new, condition=condition)
            tx.save(firing, condition=AlertFiring.key.does_not_exist())

        result[:] = [firing]
        return build

    def lost() -> None:
        result.clear()  # someone else wrote this change: read again, most likely nothing is left

    if not with_retries(prepare, on_conflict=lost):
        return None
    return result[0] if result else None


def describe(rule: AlertRule) -> str:
    """One line for the rules table."""
    scope = SCOPES.get(rule.scope or "tenant", "")
    if rule.scope != "tenant":
        scope = f"{rule.scope} {rule.subject}" if rule.subject else f"each {rule.scope}"
    levels = []
    if rule.warning is not None:
        levels.append(f"warning at {show(rule.metric, int(rule.warning))}")
    if rule.critical is not None:
        levels.append(f"critical at {show(rule.metric, int(rule.critical))}")
    return (
        f"{METRICS.get(rule.metric, '')} of {scope} over {METRIC_WINDOWS.get(rule.window, '')}: "
        + ", ".join(levels)
    )


__all__ = ["describe", "evaluate_rule", "states"]
