"""Rollup rows: which counters one execution adds to, and summing rows read back.

Two kinds of rows, both exact sums of raw executions (the consistency tests recompute them):

Daily rows, for the series and the small dimensions: pk `tenant#total|model|status`, sk
`day#value#shard`; `total` and `model` rows carry the latency histogram (`status` rows do not: rows
stay small, a read's units are counted on whole items). A writer picks one of `SHARDS` shards at
random so concurrent writers of one tenant and day do not all update one item (DynamoDB takes at
most 1,000 write units a second per item); readers sum the shards of a (day, value). Rows without
the shard part (older data) read the same.

Ranked rows, for the top lists of agents, models, users, environments, tags, sessions and templates:
pk `tenant#dimension#bucket`, sk the value, where bucket is a day `d2026-12-01`, an ISO week
`w2026-W49` or a month `m2026-12`. Every execution adds to the buckets holding its day. `rank_cost` (= the cost) is the sort key of the
`rank` index, so a bucket's top ten is ten items, whatever the number of values; any range of days is
an exact union of whole buckets (`buckets_covering`). The day buckets of agents, users, environments
and tags carry the latency histogram (`HISTOGRAM_RANKED`), for the p95 alert rules of one value over
up to a month of days, read by key (alerts.metrics); weeks and months do not, and the top lists,
kept pages and digests read the counters only.

An execution without an environment adds to no environment row; one with tags adds to one tag row
per tag (at most inputs.MAX_TAGS), so the tag rows of a bucket sum to more than its total: each tag's
figures are those of the executions carrying it. Sessions (`session_id`) and templates (the
marketplace template its flow came from, `template_id`, stamped before counting) have rows by day and
ISO week only (`GRAINS`): a conversation rarely outlives a day, so a month bucket would hold nearly
every session of its days again (no fewer rows to read than its weeks and days) for one more update
per run; the pages read presets from digests (compaction) built from those buckets, and a custom
range covers a month with its weeks and days. Templates are few, but their runs are a subset of the
agents': two rows keep the extra writes small too. Rows per execution: 3 daily + 3 buckets × (agent,
model, user, environment if any, each tag) + 2 for a session + 2 for a template = 12 without
dimensions, 49 at most (10 tags), + 1 platform-wide template row when the execution's flow came from
a marketplace template (see template_costs): 50 at most.

The latency histogram costs no row: an execution adds one to one bucket attribute (`h00` … `h48`,
latency.py) in the update it already makes of each row that carries it (daily `total` and `model`,
every hourly row, the day buckets above). Such a row grows by about 6 bytes a bucket in use: a ranked
day row of about 210 bytes is about 300 with 15 buckets in use and 650 with all 49, under 1 KB: still
one write unit, for the row and for its copy in the `rank` index (which projects every attribute).
The top lists' reads of day buckets are counted on those larger items (weeks and months unchanged).

Environment sub-scopes (issue #28 §2, the overview's environment filter): an execution with an
environment also adds to daily rows (total, model, status) and ranked rows of agent, model and user
under the scope id `<tenant>@<environment>` (`scope_id`), so every read of the overview (daily
queries, top lists, digests, kept pages) serves one environment unchanged. Tenant ids are slugs
(`[a-z0-9][a-z0-9-]`, accounts.services) and carry no `@`, so a scope id never names a tenant, and
`tenant_of_scope` gives back the tenant (environments may hold `@`; only the first one splits). No
hourly rows, no environment rows (one value) and no tag rows (10 tags would add 30 rows and pass
the 100-item transaction of traces._count with the rest): under an environment filter the top tags are
not split (the page says so). + 3 daily + 9 ranked = 12 more rows per execution with an environment
(services.STATS counts them).

Metadata dimensions (issue #28 §2): a tenant chooses up to 5 metadata keys (Tenant.metadata_dimensions);
an execution recorded meanwhile carries them (`counted_keys`) and adds, for each of them it has a value
of, one ranked row in dimension `meta.<key>` (`metadata_dimension`), value the metadata value, in each
of its 3 buckets: up to 15 more rows, in the tenant's scope only (an environment's sub-scope does not
split them). Executions recorded before a key was chosen are not in its rows. In all, an execution
adds to 16 rows with no dimension (12, and 4 hourly rows within 3 days of now), 34 with an
environment and a session, and 92 at most (10 tags, 5 keys, a session, a template, an environment,
its sub-scope and the hourly rows, tags' included): under the 100 items of one transaction
(traces._count).

Hourly rows, for the rolling 1 h and 24 h windows of alert rules: pk `tenant#hour-<dimension>`, sk
`2026-12-07T18#value` (`#shard` for `total` and `model`, spread as the daily rows), for the dimensions
total, model, agent, user, environment and tag, each with the latency histogram: 4 more rows per
execution, one more with an environment and one per tag, written in the same parts as the others (so
under the same duplicate guards). They live `HOURLY_TTL` (their `expires_at`, from the hour), long
enough for a 24 h window and the one before it; a writer leaves out the hours already past that
(`live_hours_from`), so importing history costs no hourly rows, and an execution's tag hours cost only
while they can be read. "A user spent more than X in the last 24 h" is the finance and abuse alert;
"the `checkout` feature fails more than 5 % in the last hour" the on-call one.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from dashboard.analytics import latency, template_costs
from dashboard.analytics.models import Execution, ExecutionRollup

DAILY_DIMENSIONS = ("total", "model", "status")
RANKED_DIMENSIONS = ("agent", "model", "user", "environment", "tag", "session", "template")
ALL_GRAINS = ("d", "w", "m")
# Sessions and templates are ranked by day and ISO week only (module docstring): one row fewer each.
GRAINS = {"session": ("d", "w"), "template": ("d", "w")}
SCOPED_DIMENSIONS = ("agent", "model", "user")  # the ranked rows of an environment sub-scope
SCOPE_MARK = "@"  # never in a tenant id (a slug): `<tenant>@<environment>` names a sub-scope
TOTAL_VALUE = "all"
COUNTERS = ("count", "failures", "cost_micro_usd", "tokens_in", "tokens_out", "duration_ms_sum")
SHARDS = 4
HOURLY_DIMENSIONS = ("total", "model", "agent", "user", "environment", "tag")
HOURLY_SHARDED = ("total", "model")  # as hot as the daily rows that are sharded
# Rows that carry the latency histogram (an execution adds one to one bucket attribute of each, in the
# update it already makes): daily `total` and `model` rows, every hourly row, and the day buckets of
# these ranked dimensions (their weeks and months do not: a window of days reads day rows by key).
HISTOGRAM_DAILY = ("total", "model")
HISTOGRAM_RANKED = ("agent", "user", "environment", "tag")
HOURLY_TTL = timedelta(days=3)  # a 24 h window and the one before it reach back 50 hours at most
NO_HOURS = "~"  # `hours_from` of batches and chunks begun before hourly rows existed: none added


def scope_id(tenant_id: str, environment: str) -> str:
    """The rows id of one environment of a tenant (module docstring, sub-scopes)."""
    return f"{tenant_id}{SCOPE_MARK}{environment}"


def tenant_of_scope(rows_id: str) -> str:
    return rows_id.split(SCOPE_MARK, 1)[0]


METADATA_DIMENSION = "meta."
MAX_METADATA_DIMENSIONS = 5


def metadata_dimension(key: str) -> str:
    return f"{METADATA_DIMENSION}{key}"


def scopes_of(execution: Execution) -> list[str]:
    """The rows ids an execution's daily and ranked rows go under: its tenant, and its environment's
    sub-scope when it has one."""
    if execution.environment:
        return [execution.tenant_id, scope_id(execution.tenant_id, execution.environment)]
    return [execution.tenant_id]


def pk(tenant_id: str, dimension: str) -> str:
    return f"{tenant_id}#{dimension}"


def sk(day: str, value: str, shard: int | None = None) -> str:
    return f"{day}#{value}" if shard is None else f"{day}#{value}#{shard}"


def ranked_pk(tenant_id: str, dimension: str, bucket: str) -> str:
    return f"{tenant_id}#{dimension}#{bucket}"


def split_sk(row_sk: str) -> tuple[str, str]:
    """(day, value) of a daily row's sort key, whatever its shard."""
    day, value = row_sk.split("#")[:2]
    return day, value


def day_of(started_at: str) -> str:
    return started_at[:10]


def hourly_pk(tenant_id: str, dimension: str) -> str:
    return f"{tenant_id}#hour-{dimension}"


def is_hourly(row_pk: str) -> bool:
    return "#hour-" in row_pk


def hour_of(started_at: str) -> str:
    """The hour bucket of a start time: `2026-12-07T18`."""
    return started_at[:13]


def hour_key(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H")


def hour_start(hour: str) -> datetime:
    return datetime.strptime(hour, "%Y-%m-%dT%H").replace(tzinfo=UTC)


def hourly_expires_at(row_sk: str) -> datetime:
    """When an hourly row goes: its hour's start + HOURLY_TTL, the same for every writer."""
    return hour_start(row_sk[:13]) + HOURLY_TTL


def hourly_expiry(row_sk: str) -> int:
    """`hourly_expires_at` in epoch seconds, as the item stores it."""
    return int(hourly_expires_at(row_sk).timestamp())


def live_hours_from(now: datetime) -> str:
    """The first hour whose rows are still kept at `now` (expiry after now): older hours get none."""
    cutoff = now.astimezone(UTC) - HOURLY_TTL
    return hour_key(cutoff.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1))


def day_bucket(day: date) -> str:
    return f"d{day.isoformat()}"


def week_bucket(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"w{year}-W{week:02d}"


def month_bucket(day: date) -> str:
    return f"m{day:%Y-%m}"


def buckets_of(day: date, dimension: str | None = None) -> tuple[str, ...]:
    """The buckets holding `day`: day, ISO week and month, or those of `dimension`'s grains."""
    grains = grains_of(dimension)
    made = {"d": day_bucket, "w": week_bucket, "m": month_bucket}
    return tuple(made[grain](day) for grain in ALL_GRAINS if grain in grains)


def grains_of(dimension: str | None) -> tuple[str, ...]:
    return GRAINS.get(dimension or "", ALL_GRAINS)


def range_bucket(start: date, end: date) -> str:
    """A digest's range of days (dashboard.analytics.compaction): `r2026-11-08_2026-12-06`."""
    return f"r{start.isoformat()}_{end.isoformat()}"


def bucket_days(bucket: str) -> tuple[date, date]:
    """The first and last day of a bucket (`d2026-12-01`, `w2026-W49`, `m2026-12`) or of a digest's
    range (`r2026-11-08_2026-12-06`)."""
    kind, name = bucket[0], bucket[1:]
    if kind == "r":
        first, last = name.split("_")
        return date.fromisoformat(first), date.fromisoformat(last)
    if kind == "d":
        day = date.fromisoformat(name)
        return day, day
    if kind == "w":
        year, week = name.split("-W")
        monday = date.fromisocalendar(int(year), int(week), 1)
        return monday, monday + timedelta(days=6)
    first = date.fromisoformat(f"{name}-01")
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, following - timedelta(days=1)


def is_total(row_pk: str) -> bool:
    return row_pk.endswith("#total")


def buckets_covering(start: date, end: date, dimension: str | None = None) -> list[str]:
    """The fewest whole buckets (months, ISO weeks, days) whose days are exactly start…end, of the
    grains `dimension` has rows for (`GRAINS`; every grain by default).

    A shortest path over the days: from each day one can take the day, the ISO week starting on it
    (a Monday) or the month starting on it (the 1st) when it ends by `end`.
    """
    grains = grains_of(dimension)
    days = (end - start).days + 1
    if days <= 0:
        return []
    best: list[tuple[int, int, str]] = [(10**9, 0, "")] * (days + 1)  # (count, from index, bucket)
    best[0] = (0, 0, "")
    for index in range(days):
        if best[index][0] >= 10**9:
            continue
        day = start + timedelta(days=index)
        steps = [(1, day_bucket(day))]
        if day.weekday() == 0 and "w" in grains:
            steps.append((7, week_bucket(day)))
        if day.day == 1 and "m" in grains:
            following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
            steps.append(((following - day).days, month_bucket(day)))
        for length, bucket in steps:
            reach = index + length
            if reach <= days and best[index][0] + 1 < best[reach][0]:
                best[reach] = (best[index][0] + 1, index, bucket)
    chosen, position = [], days
    while position:
        _, previous, bucket = best[position]
        chosen.append(bucket)
        position = previous
    return chosen[::-1]


def dimension_values(execution: Execution) -> dict[str, str]:
    return {
        "total": TOTAL_VALUE,
        "agent": execution.agent_id,
        "model": execution.model,
        "user": execution.user_id,
        "status": execution.status,
    }


def ranked_values(execution: Execution) -> dict[str, list[str]]:
    """The values of each ranked dimension one execution adds to (none, one, or one per tag)."""
    return {
        "agent": [execution.agent_id],
        "model": [execution.model],
        "user": [execution.user_id],
        "environment": [execution.environment] if execution.environment else [],
        "tag": list(dict.fromkeys(execution.tags or [])),
        "session": [execution.session_id] if execution.session_id else [],
        "template": [execution.template_id] if getattr(execution, "template_id", None) else [],
        **metadata_values(execution),
    }


def metadata_values(execution: Execution) -> dict[str, list[str]]:
    """The metadata dimensions an execution adds to: its counted keys it has a value of."""
    raw = execution.metadata
    metadata = raw.as_dict() if hasattr(raw, "as_dict") else dict(raw or {})
    return {
        metadata_dimension(key): [str(metadata[key])]
        for key in (execution.counted_keys or [])[:MAX_METADATA_DIMENSIONS]
        if metadata.get(key) not in (None, "")
    }


def daily_keys(execution: Execution, shard: int | None = None) -> list[tuple[str, str]]:
    day = day_of(execution.started_at)
    values = dimension_values(execution)
    return [
        (pk(rows_id, dim), sk(day, values[dim], shard))
        for rows_id in scopes_of(execution)
        for dim in DAILY_DIMENSIONS
    ]


def hourly_values(execution: Execution) -> dict[str, list[str]]:
    return {
        "total": [TOTAL_VALUE],
        "model": [execution.model],
        "agent": [execution.agent_id],
        "user": [execution.user_id],
        "environment": [execution.environment] if execution.environment else [],
        "tag": list(dict.fromkeys(execution.tags or ())),
    }


def hourly_keys(execution: Execution, shard: int | None = None) -> list[tuple[str, str]]:
    hour = hour_of(execution.started_at)
    values = hourly_values(execution)
    return [
        (hourly_pk(execution.tenant_id, dim), sk(hour, value, shard if dim in HOURLY_SHARDED else None))
        for dim in HOURLY_DIMENSIONS
        for value in values[dim]
    ]


def ranked_keys(execution: Execution) -> list[tuple[str, str]]:
    day = date.fromisoformat(day_of(execution.started_at))
    values = ranked_values(execution)
    keys = [
        (ranked_pk(execution.tenant_id, dim, bucket), value)
        for dim in values  # RANKED_DIMENSIONS and the counted metadata keys
        for value in values[dim]
        for bucket in buckets_of(day, dim)
    ]
    for rows_id in scopes_of(execution)[1:]:  # the environment's sub-scope
        keys += [
            (ranked_pk(rows_id, dim, bucket), value)
            for dim in SCOPED_DIMENSIONS
            for value in values[dim]
            for bucket in buckets_of(day)
        ]
    return keys


def template_keys(execution: Execution, shard: int | None = None) -> list[tuple[str, str]]:
    """The platform-wide row of the execution's template and day, if its flow came from one."""
    if not getattr(execution, "template_id", None):
        return []
    day = day_of(execution.started_at)
    return [
        (
            template_costs.day_pk(day, execution.template_id),
            template_costs.day_sk(execution.template_id, shard),
        )
    ]


def template_increments(execution: Execution) -> dict[str, int | frozenset[str]]:
    """What one execution adds to its template's row: a run, a failure or not, its cost in the sum and
    in one histogram bucket, and its tenant's mark to the row's set (a set ADD: a tenant counts once)."""
    counters = counter_increments(execution)
    return {
        "count": 1,
        "failures": counters["failures"],
        "cost_micro_usd": counters["cost_micro_usd"],
        template_costs.bucket_attribute(counters["cost_micro_usd"]): 1,
        template_costs.TENANTS: frozenset({template_costs.tenant_mark(execution.tenant_id)}),
    }


def keys_for(execution: Execution, hours_from: str = "") -> list[tuple[str, str]]:
    """Every row one execution adds to (daily, hourly and template rows without their shard); its
    hourly rows only if its hour is `hours_from` or later (writers pass `live_hours_from(now)`)."""
    hourly = hourly_keys(execution) if hour_of(execution.started_at) >= hours_from else []
    return daily_keys(execution) + ranked_keys(execution) + hourly + template_keys(execution)


def increments(execution: Execution) -> dict[str, int]:
    """The counters one execution adds to each of its daily rows (bucket attribute included)."""
    return {
        **counter_increments(execution),
        latency.bucket_attribute(execution.duration_ms): 1,
    }


def counter_increments(execution: Execution) -> dict[str, int]:
    return {
        "count": 1,
        "failures": 0 if execution.status == "succeeded" else 1,
        "cost_micro_usd": int(execution.cost_micro_usd),
        "tokens_in": int(execution.tokens_in),
        "tokens_out": int(execution.tokens_out),
        "duration_ms_sum": int(execution.duration_ms),
    }


def is_ranked(row_pk: str) -> bool:
    return row_pk.count("#") == 2


def carries_histogram(row_pk: str) -> bool:
    """Whether a daily, hourly or ranked row keeps the latency histogram (HISTOGRAM_DAILY, …)."""
    parts = row_pk.split("#")
    if len(parts) == 3:
        return parts[1] in HISTOGRAM_RANKED and parts[2].startswith("d")
    return parts[-1].startswith("hour-") or parts[-1] in HISTOGRAM_DAILY


class Increments:
    """The increments of many executions, one entry per distinct row (a batch's single update each).

    Daily rows are spread over shards at random (one shard per batch and row); ranked rows carry
    `rank_cost`, the index sort key, equal to their cost. Hourly rows are added for executions of
    `hours_from` on (an hour key; "" every hour, NO_HOURS none): a batch or chunk keeps the value it
    began with, so whoever finishes it builds the same rows (dashboard.analytics.services).
    """

    def __init__(self, shard: int | None = None, hours_from: str = "") -> None:
        self.shard = random.randrange(SHARDS) if shard is None else shard  # noqa: S311 — load spreading
        self.hours_from = hours_from
        # Counter values are ints, but for a template row's `tenants`, a set (unioned, ADDed as a set).
        self.rows: dict[tuple[str, str], dict[str, int | frozenset[str]]] = {}

    def add(self, execution: Execution) -> None:
        full = increments(execution)
        counters = counter_increments(execution)
        for key in daily_keys(execution, self.shard):
            self._add(key, full if carries_histogram(key[0]) else counters)
        for key in ranked_keys(execution):
            values = full if carries_histogram(key[0]) else counters
            self._add(key, {**values, "rank_cost": counters["cost_micro_usd"]})
        if hour_of(execution.started_at) >= self.hours_from:
            for key in hourly_keys(execution, self.shard):
                self._add(key, full if carries_histogram(key[0]) else counters)
        for key in template_keys(execution, self.shard):
            self._add(key, template_increments(execution))

    def _add(self, key: tuple[str, str], values: dict) -> None:
        row = self.rows.setdefault(key, {})
        for name, value in values.items():
            if isinstance(value, frozenset):
                row[name] = row.get(name, frozenset()) | value
            else:
                row[name] = row.get(name, 0) + value

    def __len__(self) -> int:
        return len(self.rows)


BUCKET_INDEX = {name: index for index, name in enumerate(latency.BUCKET_ATTRIBUTES)}


@dataclass(slots=True)
class Totals:
    """Summed counters of some rollup rows (or of raw executions, for checks).

    Pages build thousands (a digest's rows): slots, and the latency histogram made only when a row
    has one (`buckets` empty = all zero)."""

    count: int = 0
    failures: int = 0
    cost_micro_usd: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    duration_ms_sum: int = 0
    buckets: list[int] = field(default_factory=list)
    last_write: int = 0  # daily `total` rows: when a writer last added to them (epoch seconds)

    def histogram(self) -> list[int]:
        """The latency bucket counts, made when first needed."""
        if not self.buckets:
            self.buckets = [0] * latency.BUCKET_COUNT
        return self.buckets

    def add_row(self, row: ExecutionRollup) -> None:
        for name in COUNTERS:
            setattr(self, name, getattr(self, name) + int(getattr(row, name) or 0))
        for index, name in enumerate(latency.BUCKET_ATTRIBUTES):
            value = getattr(row, name, None)
            if value:
                self.histogram()[index] += int(value)

    def add_raw(self, item: dict) -> None:
        """A row as DynamoDB sends it (`{"count": {"N": "3"}, …}`): no model object is built."""
        for name in COUNTERS:
            cell = item.get(name)
            if cell:
                setattr(self, name, getattr(self, name) + int(cell["N"]))
        for name, cell in item.items():  # a row has a dozen attributes, the histogram 49 names
            index = BUCKET_INDEX.get(name)
            if index is not None:
                self.histogram()[index] += int(cell["N"])
        cell = item.get("last_write")
        if cell:
            self.last_write = max(self.last_write, int(cell["N"]))

    def merge(self, other: Totals) -> None:
        for name in COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.buckets:
            self.buckets = [
                mine + theirs for mine, theirs in zip(self.histogram(), other.buckets, strict=True)
            ]
        self.last_write = max(self.last_write, other.last_write)

    def add_execution(self, execution: Execution, histogram: bool = True) -> None:
        for name, value in counter_increments(execution).items():
            setattr(self, name, getattr(self, name) + value)
        if histogram:
            self.histogram()[latency.bucket_index(execution.duration_ms)] += 1

    def as_dict(self) -> dict:
        return {
            **{name: getattr(self, name) for name in COUNTERS},
            **{n: c for n, c in zip(latency.BUCKET_ATTRIBUTES, self.buckets, strict=False) if c},
        }

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out

    @property
    def successes(self) -> int:
        return self.count - self.failures

    @property
    def success_rate(self) -> float | None:
        return self.successes / self.count if self.count else None

    @property
    def avg_ms(self) -> int | None:
        return round(self.duration_ms_sum / self.count) if self.count else None

    @property
    def cost_per_run(self) -> float | None:
        return self.cost_micro_usd / self.count if self.count else None

    @property
    def p50_ms(self) -> int | None:
        return latency.percentile(self.buckets, 0.50)  # empty: no histogram, None

    @property
    def p95_ms(self) -> int | None:
        return latency.percentile(self.buckets, 0.95)


class Accumulator:
    """Rollup rows computed in memory from executions (consistency checks): shards folded; hourly
    rows of the hours from `hours_from` on (those still kept: `live_hours_from`)."""

    def __init__(self, hours_from: str = "") -> None:
        self.rows: dict[tuple[str, str], Totals] = {}
        self.hours_from = hours_from

    def add(self, execution: Execution) -> None:
        keys = daily_keys(execution) + ranked_keys(execution)
        if hour_of(execution.started_at) >= self.hours_from:
            keys += hourly_keys(execution)
        for key in keys:
            self._totals(key).add_execution(execution, histogram=carries_histogram(key[0]))

    def _totals(self, key: tuple[str, str]) -> Totals:
        totals = self.rows.get(key)
        if totals is None:
            totals = self.rows[key] = Totals()
        return totals

    def add_all(self, executions: Iterable[Execution]) -> Accumulator:
        for execution in executions:
            self.add(execution)
        return self
