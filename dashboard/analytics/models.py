"""Agent execution history (raw, 180-day TTL) and the per-day rollup counters that analytics read."""

import json

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from dashboard.analytics.latency import BUCKET_ATTRIBUTES
from dashboard.analytics.template_costs import BUCKET_ATTRIBUTES as COST_BUCKET_ATTRIBUTES
from dashboard.core import clock
from dashboard.dynamo.base import DynamoModel, table_meta

EXECUTION_TTL_DAYS = 180
EXECUTION_STATUSES = ("succeeded", "failed", "timeout", "cancelled")


def scoped_key(tenant_id: str, client_id: str) -> str:
    """Agent, user and execution ids are the clients' own: every key holding one carries the tenant."""
    return f"{tenant_id}#{client_id}"


class ExecutionsByUser(GlobalSecondaryIndex):
    class Meta:
        index_name = "tenant_user-started_at-index"
        projection = AllProjection()

    tenant_user = UnicodeAttribute(hash_key=True)  # tenant_id#user_id
    started_at = UnicodeAttribute(range_key=True)


class ExecutionsByTenant(GlobalSecondaryIndex):
    class Meta:
        index_name = "tenant_id-started_at-index"
        projection = AllProjection()

    tenant_id = UnicodeAttribute(hash_key=True)
    started_at = UnicodeAttribute(range_key=True)


class ExecutionsByTenantStatus(GlobalSecondaryIndex):
    class Meta:
        index_name = "tenant_status-started_at-index"
        projection = AllProjection()

    tenant_status = UnicodeAttribute(hash_key=True)  # tenant_id#status
    started_at = UnicodeAttribute(range_key=True)


class ExecutionsById(GlobalSecondaryIndex):
    class Meta:
        index_name = "tenant_execution-index"
        projection = AllProjection()

    tenant_execution = UnicodeAttribute(hash_key=True)  # tenant_id#execution_id


class ExecutionsBySession(GlobalSecondaryIndex):
    """One conversation's executions in the order they started (the session page).

    Sparse: only executions sent with a session carry `session_key`. Executions written before the
    index existed lack it and are not in it until `manage.py index_sessions` adds it.
    """

    class Meta:
        index_name = "session_key-started_at-index"
        projection = AllProjection()

    session_key = UnicodeAttribute(hash_key=True)  # tenant_id#session_id
    started_at = UnicodeAttribute(range_key=True)


def session_key(tenant_id: str, session_id: str | None) -> str | None:
    """The session index's key of an execution: None (not in the index) without a session."""
    return scoped_key(tenant_id, session_id) if session_id else None


class Execution(DynamoModel):
    """One agent execution. Agents belong to their tenant: acme's `support-bot` and globex's are two."""

    Meta = table_meta("agent-execution-history")
    agent_key = UnicodeAttribute(hash_key=True)  # tenant_id#agent_id
    sk = UnicodeAttribute(range_key=True)  # started_at#execution_id
    agent_id = UnicodeAttribute()
    execution_id = UnicodeAttribute()
    tenant_execution = UnicodeAttribute()
    tenant_id = UnicodeAttribute()
    tenant_status = UnicodeAttribute()
    user_id = UnicodeAttribute()
    tenant_user = UnicodeAttribute()
    model = UnicodeAttribute()
    status = UnicodeAttribute()
    started_at = UnicodeAttribute()  # ISO-8601 UTC with milliseconds, sortable
    finished_at = UnicodeAttribute(null=True)
    duration_ms = NumberAttribute()
    input = UnicodeAttribute(default="")
    output = UnicodeAttribute(default="")
    truncated = BooleanAttribute(default=False)
    tokens_in = NumberAttribute(default=0)  # every input token, cached ones included
    tokens_out = NumberAttribute(default=0)  # every output token, reasoning included
    # Token kinds inside those two totals, each priced at its own rate (dashboard.analytics.pricing).
    tokens_cache_read = NumberAttribute(default=0)
    tokens_cache_write = NumberAttribute(default=0)
    tokens_reasoning = NumberAttribute(default=0)
    provider = UnicodeAttribute(null=True)  # as sent (gen_ai.provider.name, llm.provider, …)
    # What the business slices cost by (issue #28; limits in inputs.RunIn): absent on older items.
    environment = UnicodeAttribute(null=True)  # production, staging, … (id characters, ≤ 40)
    session_id = UnicodeAttribute(null=True)  # the conversation or job the run belongs to
    session_key = UnicodeAttribute(null=True)  # tenant_id#session_id when there is a session (by_session)
    tags = ListAttribute(of=UnicodeAttribute, null=True)  # ≤ 10 short labels, in the order sent
    metadata = MapAttribute(null=True)  # ≤ 10 string values by key (raw map: values are strings)
    flow_id = UnicodeAttribute(null=True)  # the studio flow that ran
    # The marketplace template that flow was made from, looked up when the execution was recorded (so
    # every writer that counts it, now or on a resume, adds to the same template row: template_costs).
    template_id = UnicodeAttribute(null=True)
    # The metadata keys its tenant counted as dimensions when it was recorded (Tenant.metadata_dimensions):
    # every writer that counts it (a resume, a re-pricing, a trace's calls) adds to the same rows.
    counted_keys = ListAttribute(of=UnicodeAttribute, null=True)
    cost_micro_usd = NumberAttribute(default=0)
    # Where the cost came from: catalogue | override | contract | client | none (no price known);
    # price_ref names the price (catalogue model, or override id and version). Absent on items
    # written before prices had sources: read as the catalogue's.
    price_source = UnicodeAttribute(null=True)
    price_ref = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()
    # When the input and output stop being kept (epoch seconds; the tenant's content retention, no later
    # than expires_at). Past it they read as absent; the retention job removes them from the item.
    content_expires_at = NumberAttribute(null=True)
    by_user = ExecutionsByUser()
    by_tenant = ExecutionsByTenant()
    by_tenant_status = ExecutionsByTenantStatus()
    by_execution_id = ExecutionsById()
    by_session = ExecutionsBySession()

    @classmethod
    def from_raw_data(cls, data):
        item = super().from_raw_data(data)
        item.content_hidden = False
        if item.content_expires_at is not None and item.content_expires_at <= clock.now().timestamp():
            # Past the tenant's content retention: never shown again (the retention job removes it).
            item.content_hidden = bool(item.input or item.output)  # a missing attribute reads as ""
            item.input = item.output = None
        return item

    content_hidden = False  # set on items read: content past its retention was read and hidden

    @classmethod
    def rekey_raw(cls, item: dict) -> dict:
        """An item written before keys carried the tenant, with its new keys (create_tables migrates)."""
        tenant = item["tenant_id"]["S"]
        return {
            **item,
            "agent_key": {"S": scoped_key(tenant, item["agent_id"]["S"])},
            "tenant_user": {"S": scoped_key(tenant, item["user_id"]["S"])},
            "tenant_execution": {"S": scoped_key(tenant, item["execution_id"]["S"])},
        }


class RollupsByCost(GlobalSecondaryIndex):
    """Ranked rows of one bucket (pk `tenant#dimension#bucket`) by cost: a top ten reads ten items.

    Sparse: only ranked rows carry `rank_cost`, so daily rows and guards are not in the index.
    """

    class Meta:
        index_name = "pk-rank_cost-index"
        projection = AllProjection()

    pk = UnicodeAttribute(hash_key=True)
    rank_cost = NumberAttribute(range_key=True)


class ExecutionRollup(DynamoModel):
    """Atomic counters: daily, ranked and hourly rows (see dashboard.analytics.rollups for the keys);
    hourly rows alone expire (`expires_at`, a few days).

    The same table holds what ingestion writes to count each execution once (dashboard.analytics.services):
    - id guards `tenant#execution#<execution_id>` / `guard` (an execution id counts once per tenant),
      naming the API batch (`batch`) or import chunk (`chunk`) that counts them; guards written before
      batches had markers have neither, and their own `counted` is set in the transaction that adds
      their execution to the counters;
    - batch markers `tenant#batch#<id>` / `batch` (the batch's `refs` until it is counted, then
      `counted`) and their part markers `part-<n>`; import markers `tenant#import#<chunk>` / `stored`
      (the chunk's executions and guards are in) and `tenant#import#<window>` / `part-<n>`, `done`
      (a window of chunks counted; chunks counted on their own have their `part-<n>` and `done`).
    """

    Meta = table_meta("execution-rollups")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    count = NumberAttribute(default=0)
    failures = NumberAttribute(default=0)
    cost_micro_usd = NumberAttribute(default=0)
    tokens_in = NumberAttribute(default=0)
    tokens_out = NumberAttribute(default=0)
    duration_ms_sum = NumberAttribute(default=0)
    # Latency histogram: one counter per bucket (h00 … h48, see latency.py), absent = 0.
    vars().update({name: NumberAttribute(null=True) for name in BUCKET_ATTRIBUTES})
    # Template rows only (dashboard.analytics.template_costs): the cost histogram (c000 … c107, absent = 0),
    # the tenants that ran the template that day, and a summary's figures (JSON).
    vars().update({name: NumberAttribute(null=True) for name in COST_BUCKET_ATTRIBUTES})
    tenants = UnicodeSetAttribute(null=True)
    figures = UnicodeAttribute(null=True)
    rank_cost = NumberAttribute(null=True)  # ranked rows only: the sort key of `by_cost`
    last_write = NumberAttribute(null=True)  # daily `total` rows: epoch seconds of the last write
    expires_at = TTLAttribute(null=True)  # hourly rows only: their hour + rollups.HOURLY_TTL
    # Guard rows only.
    tenant_id = UnicodeAttribute(null=True)
    ref = UnicodeAttribute(null=True)  # the recorded execution: agent_key + "|" + sk
    counted = BooleanAttribute(null=True)  # see the class docstring
    chunk = UnicodeAttribute(null=True)  # written by a bulk import: the id of its chunk
    batch = UnicodeAttribute(null=True)  # written by the API: the id of its batch
    # Batch markers and import guards: the first hour given hourly rows (rollups.live_hours_from when
    # the batch or chunk began), kept so whoever finishes it builds the same parts.
    hours_from = UnicodeAttribute(null=True)
    # Batch markers only: the batch's executions (agent_key|sk) until the batch is counted.
    refs = ListAttribute(of=UnicodeAttribute, null=True)
    by_cost = RollupsByCost()


PAGE_TTL_DAYS = 100


class TopPage(DynamoModel):
    """A bucket's first page in the rank index of the rollups, kept while its execution count holds
    (dashboard.analytics.queries). A cache the pages write: pk = the ranked rows' pk; it lives apart
    from the counters so the web tier, which only reads those, may write it."""

    Meta = table_meta("rollup-top-pages")
    pk = UnicodeAttribute(hash_key=True)
    top = UnicodeAttribute()  # JSON: {"tag": count, "exhausted": bool, "rows": [[value, counters…]…]}
    expires_at = TTLAttribute()  # a page unused for this long is read live again, then kept anew


DIGEST_TTL_DAYS = 35  # "Last month" keeps its range all month; a digest no page asks for goes


class RollupDigest(DynamoModel):
    """Settled figures of one tenant, packed (dashboard.analytics.compaction), two kinds of item:

    - `tenant#dimension#r<start>_<end>`: a digest of one range of settled days for a ranked
      dimension (agent, user, model): every value's totals when they fit (`complete`), else the
      `DIGEST_ROWS` costliest and the values its partner range needs, with `bound`, the most any
      value left out cost. `tag_count`/`tag_cost`: the range's executions and cost when it was
      built; a reader uses it only while the daily `total` rows still say the same (a late arrival
      or a re-pricing changes them).
    - `<digest pk>#tail<n>`: the values a digest left out whose hash falls in tail n (`tails` on the
      digest says how many), with the digest's tags; read only when a page needs one of them.
    - `tenant#state`: the day the tenant's digests were last built for, and `dirty`, when a write
      last landed on a settled day (ingestion, re-pricing): the background worker rebuilds.
    Written by the importer and the background worker, read by the pages.
    """

    Meta = table_meta("rollup-digests")
    pk = UnicodeAttribute(hash_key=True)
    rows = BinaryAttribute(legacy_encoding=False, null=True)  # zlib of JSON [[value, counters…]…]
    tag_count = NumberAttribute(null=True)
    tag_cost = NumberAttribute(null=True)
    complete = BooleanAttribute(null=True)
    bound = NumberAttribute(null=True)
    tails = NumberAttribute(null=True)  # items `<pk>#tail<n>` holding the values left out, by hash
    day = UnicodeAttribute(null=True)  # state: the day the digests were built for
    built = NumberAttribute(null=True)  # state: epoch seconds of the last build
    dirty = NumberAttribute(null=True)  # state: epoch seconds of the last write to a settled day
    expires_at = TTLAttribute(null=True)


class TraceItem(DynamoModel):
    """The spans of OpenTelemetry traces and what was derived from them (dashboard.analytics.traces).

    pk `tenant#trace_id` (the tenant is in the key: trace ids are the clients' own), one partition per
    trace, holding three kinds of items told apart by their sort key:
    - `span#<span_id>`: one span, reduced to what a step shows (a few KB at most, never the raw span);
    - `exec#<span_id>`: the execution decided for an agent span (`run`, the JSON given to ingestion),
      written once so every later export builds the very same execution;
    - `count#<span_id>`: the model call was added to execution `execution_id` (tokens and cost kept),
      written in the transaction that adds it, so a model call is counted once.
    """

    Meta = table_meta("trace-spans")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    tenant_id = UnicodeAttribute()
    trace_id = UnicodeAttribute()
    span_id = UnicodeAttribute()
    parent_span_id = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)
    kind = UnicodeAttribute(null=True)  # agent | model | tool | step
    operation = UnicodeAttribute(null=True)  # gen_ai.operation.name as sent
    gen_ai = BooleanAttribute(default=False)  # an LLM-convention span: GenAI, OpenLLMetry or OpenInference
    model = UnicodeAttribute(null=True)
    provider = UnicodeAttribute(null=True)
    tokens_in = NumberAttribute(default=0)
    tokens_out = NumberAttribute(default=0)
    tokens_cache_read = NumberAttribute(default=0)
    tokens_cache_write = NumberAttribute(default=0)
    tokens_reasoning = NumberAttribute(default=0)
    cost_micro_usd = NumberAttribute(default=0)
    priced = BooleanAttribute(default=True)  # False: a model call whose model has no price
    price_source = UnicodeAttribute(null=True)  # as Execution.price_source
    price_ref = UnicodeAttribute(null=True)
    start_ns = NumberAttribute(default=0)
    end_ns = NumberAttribute(default=0)
    failed = BooleanAttribute(default=False)
    error = UnicodeAttribute(null=True)
    agent_id = UnicodeAttribute(null=True)
    user_id = UnicodeAttribute(null=True)
    session_id = UnicodeAttribute(null=True)  # session.id / gen_ai.conversation.id / traceloop's session_id
    tags = ListAttribute(of=UnicodeAttribute, null=True)  # OpenInference's tag.tags, in order
    environment = UnicodeAttribute(null=True)  # deployment.environment(.name), langfuse.environment
    metadata = UnicodeAttribute(null=True)  # JSON {key: value}: OpenInference / langfuse metadata
    flow_id = UnicodeAttribute(null=True)  # diatonic.flow_id
    scope = UnicodeAttribute(null=True)  # the instrumentation scope's name
    input = UnicodeAttribute(null=True)
    output = UnicodeAttribute(null=True)
    execution_id = UnicodeAttribute(null=True)  # exec# and count# items
    run = UnicodeAttribute(null=True)  # exec# items: the run as JSON (its input and output are content)
    recorded = BooleanAttribute(default=False)  # exec# items: write_execution has landed
    expires_at = TTLAttribute()  # the tenant's retention of executions, from the span's start
    # When the span's content (input/output; a pin's run input/output) stops being kept: epoch seconds,
    # the tenant's content retention from the span's start. Past it the content reads as absent; the
    # retention job (dashboard.operations.retention, phase "spans") removes it from the item.
    content_expires_at = NumberAttribute(null=True)

    content_hidden = False  # set on items read: content past its retention was read and hidden

    @classmethod
    def from_raw_data(cls, data):
        item = super().from_raw_data(data)
        item.content_hidden = False
        if item.content_expires_at is not None and item.content_expires_at <= clock.now().timestamp():
            item.hide_content()
        return item

    def hide_content(self) -> None:
        """Past its content retention: never shown again (the retention job removes it)."""
        self.content_hidden = self.content_hidden or bool(self.input or self.output)
        self.input = self.output = None
        if self.run:
            run = json.loads(self.run)
            if run.get("input") or run.get("output"):
                self.content_hidden = True
                self.run = json.dumps({**run, "input": "", "output": ""})


class ModelPrice(DynamoModel):
    """A price set by staff, over the catalogue's (dashboard.analytics.pricing).

    All in one partition (`book` = "prices": staff keep tens of prices, not thousands), so one query
    reads every price of every tenant; sk `<scope>#<price id>`, where scope is `*` for every tenant
    (an override) or a tenant id (that tenant's contract price). `model` is an exact name or a pattern
    with `*` (`gpt-4o*`, `*/llama-3.1-70b`), matched without case against the model name as sent.
    Prices are micro-USD per 1,000,000 tokens; a kind left empty costs as input (cache) or output
    (reasoning). Nothing is deleted: a removed price is `retired`, so the executions it priced still
    name it. Every change bumps `version` (optimistic locking) and is in the audit trail.
    """

    BOOK = "prices"
    Meta = table_meta("model-prices")
    book = UnicodeAttribute(hash_key=True, default=BOOK)
    price_key = UnicodeAttribute(range_key=True)  # scope#price_id
    scope = UnicodeAttribute()
    price_id = UnicodeAttribute()
    model = UnicodeAttribute()
    provider = UnicodeAttribute(null=True)
    effective_from = UnicodeAttribute()  # ISO-8601 UTC; executions started at or after it
    input = NumberAttribute()
    output = NumberAttribute()
    cache_read = NumberAttribute(null=True)
    cache_write = NumberAttribute(null=True)
    reasoning = NumberAttribute(null=True)
    note = UnicodeAttribute(default="")
    retired = BooleanAttribute(default=False)
    updated_at = UnicodeAttribute()
    updated_by = UnicodeAttribute(default="")
    version = VersionAttribute()

    @classmethod
    def key_of(cls, scope: str, price_id: str) -> tuple[str, str]:
        return cls.BOOK, f"{scope}#{price_id}"


class PriceChange(DynamoModel):
    """What staff price changes left to re-price, and the re-pricing runs (dashboard.analytics.repricing).

    One partition (`book` = "changes"; a few items), sk:
    - `pending#<scope>`: a price changed for days that already have executions, for every tenant
      (scope `*`) or one; `since` is the earliest such day. The overview says its figures predate the
      change while this item stands; a re-pricing run that covers it removes it, unless a newer change
      came meanwhile (`changed_at`).
    - `job#<id>`: one re-pricing run, its range and progress (the prices page polls it).

    And one partition per tenant and day a run is re-pricing (`book` = `day#<tenant>#<day>`), which a
    run empties before it moves on (dashboard.analytics.repricing, "a day's rollup deltas"):
    - `ledger#<id>`: the rollup deltas of one transaction of changed executions, written with them;
    - `plan`: the ledgers being applied to the rollup rows now (`ledger_ids`), `applying` or `done`;
    - `part#<n>`: part n of the plan's summed deltas has been applied.
    """

    BOOK = "changes"
    Meta = table_meta("price-changes")
    book = UnicodeAttribute(hash_key=True, default=BOOK)
    item = UnicodeAttribute(range_key=True)
    scope = UnicodeAttribute()  # `*` or a tenant id
    since = UnicodeAttribute(null=True)  # pending: ISO day
    changed_at = UnicodeAttribute(null=True)  # pending: ISO time of the latest change
    job_id = UnicodeAttribute(null=True)
    start = UnicodeAttribute(null=True)  # job: first and last day re-priced
    end = UnicodeAttribute(null=True)
    include_client = BooleanAttribute(default=False)
    status = UnicodeAttribute(null=True)  # job: running | done | failed
    days_total = NumberAttribute(default=0)
    days_done = NumberAttribute(default=0)
    seen = NumberAttribute(default=0)  # executions read
    changed = NumberAttribute(default=0)  # executions whose cost changed
    delta_micro_usd = NumberAttribute(default=0)
    created_by = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute(null=True)
    heartbeat = UnicodeAttribute(null=True)
    finished_at = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    deltas = UnicodeAttribute(null=True)  # ledger: JSON [[row pk, row sk, µUSD], …]
    plan_id = UnicodeAttribute(null=True)  # plan and its parts
    ledger_ids = ListAttribute(of=UnicodeAttribute, null=True)  # plan

    @classmethod
    def day_book(cls, tenant_id: str, day: str) -> str:
        return f"day#{tenant_id}#{day}"

    @classmethod
    def pending_key(cls, scope: str) -> tuple[str, str]:
        return cls.BOOK, f"pending#{scope}"

    @classmethod
    def job_key(cls, job_id: str) -> tuple[str, str]:
        return cls.BOOK, f"job#{job_id}"
