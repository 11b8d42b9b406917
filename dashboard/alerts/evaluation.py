"""Deciding which rules are crossed, and claiming each crossing exactly once.

Evaluation reads only the analytics area's read functions (`budget_status`, `queries.top`:
one rollup query per rule kind and window), never raw executions, so its cost does not grow with volume.

Exactly once per rule, period and threshold: a crossing is *claimed* by writing an `AlertFiring`
keyed `rule#period#threshold` (plus `#subject` for an "each agent/user" rule) on condition that the
key does not exist. Any number of concurrent evaluators (every API batch checks after it is recorded,
plus `run_alerts`) may see the same crossing; DynamoDB lets exactly one claim land, and only the
evaluator whose claim landed delivers. The claim is written with `pending` set and every delivery
step "pending", so a crash between "crossed" and "delivered" leaves a row on the sparse pending index;
`run_alerts` (each pass) redelivers those rows, step by step, skipping the steps already done.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

from django.conf import settings
from pynamodb.exceptions import PutError

from dashboard.accounts.queries import get_tenant, list_tenants
from dashboard.alerts import delivery, drivers, metrics, queries
from dashboard.alerts.models import PENDING, AlertFiring, AlertRule
from dashboard.analytics import queries as analytics
from dashboard.analytics.queries import budget_status
from dashboard.analytics.rollups import TOTAL_VALUE, Totals
from dashboard.core import clock, worker
from dashboard.core.money import money

log = logging.getLogger(__name__)
DIMENSION = {"agent_spend": "agent", "user_spend": "user"}

# An "each agent/user" rule looks at this many of the costliest values of its window.
EACH_SUBJECT_TOP = 100


@dataclass(frozen=True)
class Crossing:
    rule: AlertRule
    period: str
    threshold: str
    subject: str
    value_micro_usd: int
    limit_micro_usd: int
    message: str
    generation: int = 0  # budget rules: approved increases this month (each re-arms the thresholds)

    @property
    def key(self) -> str:
        key = f"{self.rule.rule_id}#{self.period}#{self.threshold}"
        key = f"{key}#{self.subject}" if self.subject and not self.rule.subject else key
        return f"{key}#r{self.generation}" if self.generation else key


def crossings(tenant_id: str, rules: list[AlertRule], now: datetime) -> list[Crossing]:
    found: list[Crossing] = []
    month = now.strftime("%Y-%m")
    today = now.date()
    status = None
    generation = 0
    spend: dict[tuple[str, str], dict[str, int]] = {}
    for rule in rules:
        if not rule.enabled:
            continue
        if rule.kind in ("budget", "forecast"):
            if status is None:
                status = budget_status(tenant_id, get_tenant(tenant_id).monthly_budget_micro_usd, now)
                generation = queries.rearm_generation(tenant_id, month)
            budget = status.budget_micro_usd
            if not budget:
                continue
            if rule.kind == "forecast":
                if status.forecast_micro_usd > budget:
                    found.append(
                        Crossing(
                            rule,
                            month,
                            "forecast",
                            "",
                            status.forecast_micro_usd,
                            budget,
                            f"The forecast for {status.month} is {money(status.forecast_micro_usd)}, "
                            f"above the budget of {money(budget)}.",
                            generation,
                        )
                    )
                continue
            for percent in sorted(int(p) for p in rule.thresholds or []):
                if status.month_to_date_micro_usd * 100 >= percent * budget:
                    found.append(
                        Crossing(
                            rule,
                            month,
                            f"{percent}%",
                            "",
                            status.month_to_date_micro_usd,
                            budget * percent // 100,
                            f"Spend in {status.month} reached {money(status.month_to_date_micro_usd)}: "
                            f"{percent} % of the budget of {money(budget)}.",
                            generation,
                        )
                    )
            continue
        dimension = DIMENSION.get(rule.kind)
        if dimension is None or not rule.limit_micro_usd:
            continue
        window = (dimension, rule.window, rule.subject or "")
        if window not in spend:
            start = today if rule.window == "day" else today.replace(day=1)
            if rule.subject:  # one agent or user: its exact figure
                totals_by = analytics.figures(tenant_id, dimension, start, today, [rule.subject])
            else:  # each one: the costliest first (a ranked index read); any over the limit is among them
                totals_by = dict(analytics.top(tenant_id, dimension, start, today, EACH_SUBJECT_TOP))
            spend[window] = {value: int(totals.cost_micro_usd) for value, totals in totals_by.items()}
        period = today.isoformat() if rule.window == "day" else month
        what = "agent" if dimension == "agent" else "user"
        for subject, cost in spend[window].items():
            if rule.subject and subject != rule.subject:
                continue
            if cost >= rule.limit_micro_usd:
                found.append(
                    Crossing(
                        rule,
                        period,
                        "limit",
                        subject,
                        cost,
                        int(rule.limit_micro_usd),
                        f"The {what} {subject} spent {money(cost)} "
                        f"{'today' if rule.window == 'day' else 'this month'}, over the limit of {money(rule.limit_micro_usd)}.",
                    )
                )
    return found


def claim(tenant_id: str, crossing: Crossing, now: datetime) -> AlertFiring | None:
    """The firing row if this caller's claim landed; None when someone claimed this crossing first."""
    firing = AlertFiring(
        tenant_id=tenant_id,
        key=crossing.key,
        rule_id=crossing.rule.rule_id,
        rule_name=crossing.rule.name,
        kind=crossing.rule.kind,
        period=crossing.period,
        threshold=crossing.threshold,
        subject=crossing.subject,
        value_micro_usd=crossing.value_micro_usd,
        limit_micro_usd=crossing.limit_micro_usd,
        message=crossing.message,
        fired_at=clock.iso_ms(now),
        pending=PENDING,
    )
    try:
        firing.save(condition=AlertFiring.key.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return None
        raise
    return firing


# The metric a budget or spend rule watches, as a metric rule would: cost of the tenant over the month,
# or of one agent or user over its day or month (drivers.drivers reads the windows the same way).
EXPLAINED_AS = {"budget": "tenant", "forecast": "tenant", "agent_spend": "agent", "user_spend": "user"}


def _explain(tenant_id: str, crossing: Crossing, firing: AlertFiring, now: datetime) -> None:
    """Add why the number moved to a claim this call won (after the claim: reads are spent only on
    crossings that fire). A failure here is logged; the alert goes out without its drivers."""
    scope = EXPLAINED_AS.get(crossing.rule.kind)
    if scope is None:
        return
    try:
        rule = SimpleNamespace(
            metric="cost", scope=scope, window="month" if scope == "tenant" else crossing.rule.window
        )
        window = metrics.window_of(rule, now.date())
        subject = crossing.subject if scope != "tenant" else ""
        current = analytics.window_totals(
            tenant_id, scope, window.start, window.end, [subject] if subject else None
        ).get(subject or TOTAL_VALUE, Totals())
        text = drivers.drivers(tenant_id, rule, subject, window, current)
        firing.update(actions=[AlertFiring.drivers.set(text)])
    except Exception as exc:  # noqa: BLE001 — the alert matters more than its explanation
        log.error("explaining %s of tenant %s failed", firing.key, tenant_id, exc_info=exc)


def evaluate_tenant(
    tenant_id: str, now: datetime | None = None, deliver: bool = True, outbound: bool = True
) -> list[AlertFiring]:
    """Claim every crossing not claimed yet; deliver the claims this call won (`outbound=False`:
    only the dashboard notification, see `delivery.deliver`). Returns them."""
    now = now or clock.now()
    rules = [rule for rule in queries.rules(tenant_id) if rule.enabled]
    if not rules:
        return []
    won = []
    metric_rules = [rule for rule in rules if rule.kind == "metric"]
    if metric_rules:
        known = metrics.states(tenant_id)
        for rule in metric_rules:
            won += metrics.evaluate_rule(tenant_id, rule, now, known)
    for crossing in crossings(tenant_id, rules, now):
        firing = claim(tenant_id, crossing, now)
        if firing is not None:
            _explain(tenant_id, crossing, firing, now)
            won.append(firing)
    if deliver:
        for firing in won:
            _deliver(firing, now, outbound)
    return won


def _deliver(firing: AlertFiring, now: datetime, outbound: bool = True) -> bool:
    """Deliver one firing; any failure is logged and left to the next pass (its claim stays pending)."""
    try:
        return delivery.deliver(firing, now=now, outbound=outbound)
    except Exception as exc:  # noqa: BLE001 — one firing's failure must not stop the pass
        log.error(
            "delivering %s of tenant %s failed; the next pass retries",
            firing.key,
            firing.tenant_id,
            exc_info=exc,
        )
        return False


def check_after_ingest(tenant_id: str) -> None:
    """The cheap check after each API batch: one query when the tenant has no rules.

    The request only claims and records (the dashboard notification); it never sends a webhook or an
    email (a slow receiver must not hold a web thread): the delivery worker (`run_alerts`, or the
    in-process loop, woken here) sends what was claimed.
    Alerting never fails an ingestion that has already been recorded: any error here is logged and
    the next batch or `run_alerts` pass evaluates again (claims make that safe).
    """
    if not settings.ALERTS_CHECK_ON_INGEST:
        return
    try:
        if any(firing.pending for firing in evaluate_tenant(tenant_id, outbound=False)):
            worker.wake()  # the in-process worker delivers it at once
    except Exception as exc:  # noqa: BLE001 — alerting never fails the ingesting API call
        log.error("alert check after ingestion failed for %s; run_alerts will retry", tenant_id, exc_info=exc)


@dataclass
class PassResult:
    tenants: int = 0
    fired: int = 0
    redelivered: int = 0


def deliver_pending(now: datetime | None = None, result: PassResult | None = None) -> PassResult:
    """Finish every pending delivery that is due; one that fails for any reason is logged and skipped."""
    now = now or clock.now()
    result = result or PassResult()
    for firing in queries.pending_firings():
        if _deliver(firing, now):
            result.redelivered += 1
    return result


def run_pass(now: datetime | None = None) -> PassResult:
    """One pass of `run_alerts`: evaluate every tenant with rules, then finish pending deliveries.

    One tenant's failure (its rules, its receiver) is logged and never stops the pass for the others.
    Calls: one tenants query, one rules query per tenant, one or two rollup queries per tenant with
    rules, one pending-index query, plus the writes of what fires or is redelivered.
    """
    now = now or clock.now()
    result = PassResult()
    for tenant in list_tenants():
        result.tenants += 1
        try:
            result.fired += len(evaluate_tenant(tenant.tenant_id, now))
        except Exception as exc:  # noqa: BLE001 — one tenant's failure must not stop the others'
            log.error(
                "evaluating the alerts of tenant %s failed; the next pass retries",
                tenant.tenant_id,
                exc_info=exc,
            )
    return deliver_pending(now, result)
