"""Re-pricing the past: 30 days of BENCH_REPRICE_EXECUTIONS (default 1,000,000) executions of one
tenant (300 agents, 5,000 end users, priced by the catalogue), then a contract price list (every model
that tenant uses) from the first of those days, then `manage.py reprice` in a child process.

The executions and their rollup rows are seeded by plain BatchWriteItem calls of what the importer
would write (the rows summed in memory): the importer's own rate is the analytics benchmark's figure,
and at a million executions it would take half an hour before this benchmark starts.

Prints the re-pricing rate (executions changed per second) beside DynamoDB Local's own bare write rate
for the same executions measured in the same run (`engine ceiling`: BatchWriteItem of the executions
and their id guards, no counters, no reads), the child's peak resident memory, and a second run (which
must change nothing). Exactness: the 30-day overview's total cost and top 10 agents equal DuckDB's
recomputation at the new price from the same file.

Environment: BENCH_REPRICE_EXECUTIONS, REPRICE_THREADS (days at once, default 4).
"""

from __future__ import annotations

import itertools
import os
import re
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench.bench_analytics_cardinality import _engine_ceiling, _write_file, put_items, run_with_peak
from dashboard.accounts import services as accounts
from dashboard.analytics import demo, overview, rollups, services
from dashboard.analytics.inputs import Period, PriceIn
from dashboard.analytics.models import Execution, ExecutionRollup
from dashboard.core import clock
from dashboard.core.scope import STAFF, AccessScope

STAFF_SCOPE = AccessScope(role=STAFF, actor_id="bench", actor_label="bench", tenant_id=None)
# The contract: $1 input, $0.50 cached input, $2 output per 1M tokens → µUSD per token 1, 0.5, 2.
COST_SQL = (
    "((tokens_in - tokens_cache_read) * 1000000 + tokens_cache_read * 500000 + tokens_out * 2000000"
    " + 500000) // 1000000"
)


def _duckdb(path: Path) -> tuple[int, list[tuple[str, int]], float]:
    import duckdb

    started = time.monotonic()
    con = duckdb.connect()
    con.execute(f"CREATE TABLE e AS SELECT * FROM read_json_auto('{path}', format='newline_delimited')")
    total = con.execute(f"SELECT SUM({COST_SQL}) FROM e").fetchone()[0]
    top = con.execute(
        f"SELECT agent_id, SUM({COST_SQL}) AS c FROM e GROUP BY agent_id ORDER BY c DESC, agent_id LIMIT 10"
    ).fetchall()
    return int(total), [(agent, int(cost)) for agent, cost in top], time.monotonic() - started


def _seed(path: Path, tenant_id: str, chunk: int = 50_000) -> None:
    """The executions of the file and their rollup rows, as the importer leaves them (no id guards:
    nothing here is sent twice), a chunk of lines at a time so memory stays flat."""
    started = time.monotonic()
    now = clock.now()
    sums = rollups.Increments(shard=0)
    count = 0
    with path.open() as lines:
        while part := list(itertools.islice(lines, chunk)):
            items = []
            for text in part:
                execution, errors = services.parse_import_line(tenant_id, text, now)
                assert execution is not None, errors
                sums.add(execution)
                items.append((Execution.Meta.table_name, execution.serialize()))
            put_items(items)
            count += len(items)
    put_items(
        [
            (ExecutionRollup.Meta.table_name, ExecutionRollup(pk, sk, **values).serialize())
            for (pk, sk), values in sums.rows.items()
        ]
    )
    print(
        f"  seeded {count:,} executions and {len(sums):,} rollup rows in {time.monotonic() - started:,.0f} s",
        flush=True,
    )


def run(bench) -> None:
    total = int(os.environ.get("BENCH_REPRICE_EXECUTIONS", "1000000"))
    tenant_id = f"reprice-{total}-{int(time.time())}"
    accounts.create_tenant(tenant_id, f"Re-pricing {total:,}")
    today = clock.now().date()
    first = today - timedelta(days=29)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "executions.jsonl"
        print(f"writing {total:,} executions, 30 days, 300 agents, 5,000 end users…", flush=True)
        _write_file(path, tenant_id, total, agents=300, users=5_000, days=30, client_cost=False)
        _seed(path, tenant_id)
        ceiling = _engine_ceiling(path, f"{tenant_id}-probe")
        expected_total, expected_top, duck_seconds = _duckdb(path)
    for model in sorted({name for shape in demo.AGENT_SHAPES for name, _ in shape[1]}):
        services.save_price(  # a contract price list: every model the tenant uses, at one rate
            STAFF_SCOPE,
            PriceIn.clean(
                model=model,
                tenant_id=tenant_id,
                effective_from=first,
                input="1",
                cache_read="0.5",
                output="2",
            ),
        )
    os.environ["PRICES_CACHE_SECONDS"] = "0"  # the child is the only process pricing this tenant
    try:
        for attempt in ("first run", "second run"):
            seconds, peak_kb, output = run_with_peak(
                "reprice", "--tenant", tenant_id, "--since", first.isoformat(), "--until", today.isoformat()
            )
            found = re.search(r"Done: ([\d,]+) of ([\d,]+) executions changed", output)
            changed, seen = (int(found[n].replace(",", "")) for n in (1, 2)) if found else (0, 0)
            print(
                f"  re-pricing, {attempt}: {changed:,} of {seen:,} executions changed in {seconds:,.0f} s = "
                f"{changed / seconds:,.0f} changed/s, {seen / seconds:,.0f} read/s "
                f"(engine ceiling for bare writes of these executions: {ceiling:,.0f}/s); "
                f"peak resident memory {peak_kb / 1024:,.0f} MB",
                flush=True,
            )
    finally:
        os.environ.pop("PRICES_CACHE_SECONDS", None)
    figures = overview.build(STAFF_SCOPE, Period.last(30, today), tenant_id)
    got_top = [(row.value, row.totals.cost_micro_usd) for row in figures.top_agents]
    exact = figures.current.cost_micro_usd == expected_total and got_top == expected_top
    print(
        f"  after re-pricing: overview total {figures.current.cost_micro_usd:,} µUSD, DuckDB {expected_total:,} "
        f"µUSD ({duck_seconds:.1f} s over the file); top 10 agents {'equal' if got_top == expected_top else 'DIFFER'}"
        f" → {'exact' if exact else 'NOT EXACT'}",
        flush=True,
    )
    if not exact:
        raise SystemExit("re-pricing is not exact")
