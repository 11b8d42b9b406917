"""Every figure of the operations page, and what reading it costs.

Call budget of one page view (no scans, whatever the data volume):
- tables: DescribeTable + DescribeTimeToLive + DescribeContinuousBackups per table, cached in the
  process for DESCRIBE_CACHE_SECONDS (AWS refreshes ItemCount/TableSizeBytes only every ~6 hours), so
  3 × tables on a cold cache and 0 when warm;
- usage: 1 query on dynamo-usage per calendar month the window touches (1 or 2);
- success metrics: 1 tenants query, then per tenant 4 (rollup totals, users count, 30 days of
  template audit events read at most AUDIT_READ_LIMIT, latest failed executions) — plus 2 audit
  month-index queries for deployments (at most AUDIT_READ_LIMIT each) and 5 Select=COUNT queries
  on the experiment runs' status index.
- cost to serve: 2 queries on dynamo-usage (this month's and last month's `tenants#` partition: one row
  per tenant) and, per tenant, 1 rollup query (this month's LLM spend).
So: 3·tables + 12 + 5·tenants cold, 12 + 5·tenants warm (tests/operations pins it).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings

from dashboard.accounts.queries import count_users, list_tenants
from dashboard.analytics import queries as analytics
from dashboard.audit import queries as audit
from dashboard.core import clock
from dashboard.core.scope import AccessScope, Can
from dashboard.dynamo.base import client_of
from dashboard.dynamo.metrics import LATENCY_BOUNDS_MS, UNATTRIBUTED
from dashboard.dynamo.tables import all_models
from dashboard.experiments import queries as experiments
from dashboard.operations.models import BUCKETS, SPANS_NOT_UNDERSTOOD, TENANTS_PREFIX, DynamoUsage

WINDOW_DAYS = 7
DESCRIBE_CACHE_SECONDS = 300
AUDIT_READ_LIMIT = 1000
ADOPTION_TARGET = 0.5
TEMPLATE_ACTIONS = ("template.create", "template.use")
_describe_cache: dict[str, tuple[float, dict]] = {}


@dataclass
class DayUsage:
    day: str
    read_units: float = 0.0
    write_units: float = 0.0
    throttles: int = 0
    condition_failures: int = 0
    tx_conflicts: int = 0
    errors: int = 0
    expired_filtered: int = 0

    def cost_usd(self) -> float:
        return (
            self.read_units * settings.DYNAMODB_PRICE_PER_MILLION_READ_UNITS
            + self.write_units * settings.DYNAMODB_PRICE_PER_MILLION_WRITE_UNITS
        ) / 1_000_000


@dataclass
class TableHealth:
    name: str
    suffix: str
    items: int
    size_bytes: int
    indexes: list[dict]
    ttl: str
    pitr: str
    days: list[DayUsage] = field(default_factory=list)
    index_units: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def today(self) -> DayUsage:
        return self.days[-1]

    @property
    def index_use(self) -> list[tuple[dict, tuple[float, float] | None]]:
        """Each index with the read and write units spent on it over the window (None: none seen)."""
        return [(index, self.index_units.get(index["name"])) for index in self.indexes]

    def window_total(self, name: str) -> float:
        return sum(getattr(day, name) for day in self.days)

    @property
    def monthly_cost_usd(self) -> float:
        """7-day average request cost × 30, plus storage at the GB-month price."""
        requests = sum(day.cost_usd() for day in self.days) / len(self.days) * 30
        return requests + self.size_bytes / 1e9 * settings.DYNAMODB_PRICE_PER_GB_MONTH


@dataclass
class OperationLatency:
    operation: str
    calls: int
    p50_ms: float | None
    p95_ms: float | None

    @property
    def within_target(self) -> bool:
        return self.p95_ms is not None and self.p95_ms <= settings.DYNAMODB_LATENCY_TARGET_MS


def _percentile(buckets: list[int], fraction: float) -> float | None:
    total = sum(buckets)
    if not total:
        return None
    rank = fraction * total
    seen = 0
    for index, count in enumerate(buckets):
        seen += count
        if seen >= rank:
            return float(LATENCY_BOUNDS_MS[index]) if index < len(LATENCY_BOUNDS_MS) else float("inf")
    return None


PITR_UNAVAILABLE = "not available on DynamoDB Local"


def _describe(model) -> dict:
    name = model.Meta.table_name
    cached = _describe_cache.get(name)
    if cached and time.monotonic() - cached[0] < DESCRIBE_CACHE_SECONDS:
        return cached[1]
    client = client_of(model)
    table = model.describe_table()
    ttl = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    try:
        backups = client.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        pitr = (backups.get("PointInTimeRecoveryDescription") or {}).get("PointInTimeRecoveryStatus", "?")
    except client.exceptions.ClientError as exc:  # DynamoDB Local does not know the call
        code = exc.response["Error"]["Code"]
        pitr = PITR_UNAVAILABLE if code == "UnknownOperationException" else f"unknown ({code})"
    info = {"table": table, "ttl": ttl, "pitr": pitr}
    _describe_cache[name] = (time.monotonic(), info)
    return info


def forget_descriptions() -> None:
    _describe_cache.clear()


def usage_rows(start: date, end: date) -> list[DynamoUsage]:
    rows = []
    month = start.replace(day=1)
    while month <= end:
        rows.extend(
            DynamoUsage.query(
                month.strftime("%Y-%m"),
                DynamoUsage.sk.between(f"{start.isoformat()}#", f"{end.isoformat()}#~"),
            )
        )
        month = (month + timedelta(days=32)).replace(day=1)
    return rows


def table_health(
    today: date, rows: list[DynamoUsage] | None = None
) -> tuple[list[TableHealth], list[OperationLatency]]:
    start = today - timedelta(days=WINDOW_DAYS - 1)
    days = [(start + timedelta(days=n)).isoformat() for n in range(WINDOW_DAYS)]
    tables: dict[str, TableHealth] = {}
    for model in all_models():
        info = _describe(model)
        table = info["table"]
        ttl = info["ttl"]
        health = TableHealth(
            name=model.Meta.table_name,
            suffix=model.Meta.table_suffix,
            items=int(table.get("ItemCount", 0)),
            size_bytes=int(table.get("TableSizeBytes", 0)),
            indexes=[
                {
                    "name": index["IndexName"],
                    "items": int(index.get("ItemCount", 0)),
                    "keys": " + ".join(k["AttributeName"] for k in index["KeySchema"]),
                }
                for index in table.get("GlobalSecondaryIndexes", [])
            ],
            ttl=f"{ttl.get('AttributeName')} ({ttl['TimeToLiveStatus'].lower()})"
            if ttl.get("AttributeName")
            else "off",
            pitr=info["pitr"] if info["pitr"] == PITR_UNAVAILABLE else str(info["pitr"]).lower(),
            days=[DayUsage(day) for day in days],
        )
        tables[health.name] = health
    latency: dict[str, list[int]] = {}
    calls: Counter = Counter()
    for row in usage_rows(start, today) if rows is None else rows:
        day, _, rest = row.sk.partition("#")
        kind, _, name = rest.partition("#")
        if day not in days:
            continue
        if kind == "op":
            buckets = latency.setdefault(name, [0] * len(BUCKETS))
            for index, bucket in enumerate(BUCKETS):
                buckets[index] += int(getattr(row, bucket) or 0)
            calls[name] += int(row.calls or 0)
        elif kind == "table" and name in tables:
            usage = tables[name].days[days.index(day)]
            usage.read_units += float(row.read_units or 0)
            usage.write_units += float(row.write_units or 0)
            for counter in ("throttles", "condition_failures", "tx_conflicts", "errors", "expired_filtered"):
                setattr(usage, counter, getattr(usage, counter) + int(getattr(row, counter) or 0))
        elif kind == "index":
            table_name, _, index_name = name.partition("#")
            if table_name in tables:
                r, w = tables[table_name].index_units.get(index_name, (0.0, 0.0))
                tables[table_name].index_units[index_name] = (
                    r + float(row.read_units or 0),
                    w + float(row.write_units or 0),
                )
    operations = [
        OperationLatency(name, calls[name], _percentile(b, 0.50), _percentile(b, 0.95))
        for name, b in sorted(latency.items())
    ]
    return list(tables.values()), operations


@dataclass
class TenantSuccess:
    tenant_id: str
    name: str
    users: int
    adopters: int
    adoption_capped: bool
    executions: int
    successes: int

    @property
    def adoption(self) -> float | None:
        return self.adopters / self.users if self.users else None

    @property
    def success_rate(self) -> float | None:
        return self.successes / self.executions if self.executions else None


def success_metrics(today: date) -> dict:
    now = clock.now()
    since = now - timedelta(days=30)
    tenants = []
    errors: Counter = Counter()
    for tenant in list_tenants():
        totals = analytics.daily(tenant.tenant_id, "total", today - timedelta(days=29), today).values()
        count = sum(int(row.count or 0) for row in totals)
        failures = sum(int(row.failures or 0) for row in totals)
        users = count_users(tenant.tenant_id)
        adopters, capped = audit.actors_since(tenant.tenant_id, since, TEMPLATE_ACTIONS, AUDIT_READ_LIMIT)
        tenants.append(
            TenantSuccess(
                tenant.tenant_id, tenant.name, users, len(adopters), capped, count, count - failures
            )
        )
        for message in analytics.recent_errors(tenant.tenant_id, limit=50):
            errors[message[:120]] += 1
    deployments = _deployments(now)
    runs = experiments.run_counts_since(since)
    finished = runs["succeeded"] + runs["failed"] + runs["cancelled"]
    all_users = sum(t.users for t in tenants)
    all_adopters = sum(t.adopters for t in tenants)
    executions = sum(t.executions for t in tenants)
    return {
        "tenants": tenants,
        "adoption": all_adopters / all_users if all_users else None,
        "adoption_target": ADOPTION_TARGET,
        "success_rate": sum(t.successes for t in tenants) / executions if executions else None,
        "executions": executions,
        "deployments": deployments,
        "runs": runs,
        "completion_rate": runs["succeeded"] / finished if finished else None,
        "top_errors": errors.most_common(5),
    }


DEPLOY_ACTIONS = ("model_version.deployed", "model_version.failed")


def _deployments(now) -> list[dict]:
    """Deployments per ISO week (last 4 weeks) from the audit trail's month index."""
    cutoff = now - timedelta(days=28)
    months = sorted({cutoff.strftime("%Y-%m"), now.strftime("%Y-%m")})
    weeks: dict[str, dict] = {}
    for month in months:
        for event in audit.month_events(month, DEPLOY_ACTIONS, AUDIT_READ_LIMIT):
            if event.ts < cutoff:
                continue
            year, week, _ = event.ts.isocalendar()
            row = weeks.setdefault(
                f"{year}-W{week:02d}", {"week": f"{year}-W{week:02d}", "deployed": 0, "failed": 0}
            )
            row["deployed" if event.action.endswith("deployed") else "failed"] += 1
    return [weeks[key] for key in sorted(weeks)]


@dataclass
class UnmappedScope:
    scope: str  # the instrumentation scope's name
    spans: int
    last_seen: str


def spans_not_understood(rows: list[DynamoUsage]) -> list[UnmappedScope]:
    """OpenTelemetry spans of no convention the dashboard maps, per scope, most first (from usage rows)."""
    found: dict[str, UnmappedScope] = {}
    for row in rows:
        day, _, rest = row.sk.partition("#")
        kind, _, name = rest.partition("#")
        if kind != SPANS_NOT_UNDERSTOOD:
            continue
        entry = found.setdefault(name, UnmappedScope(name, 0, ""))
        entry.spans += int(row.spans or 0)
        entry.last_seen = max(entry.last_seen, row.last_seen or day)
    return sorted(found.values(), key=lambda entry: (-entry.spans, entry.scope))


def dynamodb_cost_micro_usd(read_units: float, write_units: float) -> int:
    """On-demand request units at the configured prices (USD per million units = micro-USD per unit)."""
    return round(
        read_units * settings.DYNAMODB_PRICE_PER_MILLION_READ_UNITS
        + write_units * settings.DYNAMODB_PRICE_PER_MILLION_WRITE_UNITS
    )


@dataclass
class TenantCost:
    tenant_id: str
    name: str
    read_units: float = 0.0
    write_units: float = 0.0
    calls: int = 0
    last_month_micro_usd: int = 0
    llm_micro_usd: int = 0

    @property
    def dynamodb_micro_usd(self) -> int:
        return dynamodb_cost_micro_usd(self.read_units, self.write_units)

    @property
    def attributed(self) -> bool:
        return self.tenant_id != UNATTRIBUTED


def tenant_usage(month: str) -> dict[str, DynamoUsage]:
    """{tenant id: its metered DynamoDB units and calls in `month` (YYYY-MM)}: one query."""
    return {row.sk: row for row in DynamoUsage.query(f"{TENANTS_PREFIX}{month}")}


def tenant_costs(today: date) -> list[TenantCost]:
    """Every tenant's DynamoDB cost to serve this month (and last) beside its LLM spend, costliest first;
    the calls no tenant was served by (sign-in, staff lists) last."""
    first = today.replace(day=1)
    this_month, last_month = (
        tenant_usage(first.strftime("%Y-%m")),
        tenant_usage((first - timedelta(days=1)).strftime("%Y-%m")),
    )
    names = {tenant.tenant_id: tenant.name for tenant in list_tenants()}
    rows = []
    for tenant_id in sorted(set(names) | set(this_month) | set(last_month)):
        used, before = this_month.get(tenant_id), last_month.get(tenant_id)
        cost = TenantCost(
            tenant_id,
            names.get(tenant_id, "Not a tenant (platform)" if tenant_id == UNATTRIBUTED else tenant_id),
            read_units=float(used.read_units or 0) if used else 0.0,
            write_units=float(used.write_units or 0) if used else 0.0,
            calls=int(used.calls or 0) if used else 0,
            last_month_micro_usd=dynamodb_cost_micro_usd(
                float(before.read_units or 0), float(before.write_units or 0)
            )
            if before
            else 0,
        )
        if tenant_id in names:
            totals = analytics.daily(tenant_id, "total", first, today).values()
            cost.llm_micro_usd = sum(int(row.cost_micro_usd or 0) for row in totals)
        rows.append(cost)
    return sorted(rows, key=lambda row: (not row.attributed, -row.dynamodb_micro_usd, row.tenant_id))


def operations_page(scope: AccessScope) -> dict:
    scope.require(Can.RUN_PLATFORM)
    today = clock.now().date()
    rows = usage_rows(today - timedelta(days=WINDOW_DAYS - 1), today)
    tables, operations = table_health(today, rows)
    return {
        "spans_not_understood": spans_not_understood(rows),
        "tables": tables,
        "operations": operations,
        "days": [day.day for day in tables[0].days] if tables else [],
        "target_ms": settings.DYNAMODB_LATENCY_TARGET_MS,
        "prices": {
            "read": settings.DYNAMODB_PRICE_PER_MILLION_READ_UNITS,
            "write": settings.DYNAMODB_PRICE_PER_MILLION_WRITE_UNITS,
            "storage": settings.DYNAMODB_PRICE_PER_GB_MONTH,
        },
        "monthly_cost_usd": sum(table.monthly_cost_usd for table in tables),
        "success": success_metrics(today),
        "tenant_costs": tenant_costs(today),
    }
