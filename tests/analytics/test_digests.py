"""Digests of settled days (dashboard.analytics.compaction) always equal a recomputation from the raw
executions, or are refused: under duplicate batches, late arrivals for settled days and writers
running while a digest is built. The pages' top lists and previous-period figures stay exact
whichever way they are read (a digest, its left-out values, or the buckets when it no longer holds)."""

from __future__ import annotations

import random
import threading
from datetime import date, timedelta

import pytest

from dashboard.analytics import compaction, demo, overview, queries, rollups
from dashboard.analytics.inputs import Period
from dashboard.analytics.models import RollupDigest
from dashboard.analytics.queries import rollup_reads
from dashboard.core import clock
from tests.analytics.conftest import STAFF_SCOPE, raw_executions, recomputed_top
from tests.analytics.test_rollup_consistency import _body

DIMENSIONS = ("agent", "model", "user", "session")  # session: thousands of values a day at scale


def _post_concurrently(tenant, executions, writers: int = 4, twice: bool = True) -> None:
    by_agent: dict[str, list] = {}
    for execution in executions:
        by_agent.setdefault(execution.agent_id, []).append(execution)
    batches = []
    for agent, runs in by_agent.items():
        for start in range(0, len(runs), 25):
            body = {"runs": [_body(execution) for execution in runs[start : start + 25]]}
            batches += [(agent, body)] * (2 if twice else 1)  # a client retrying each batch
    random.Random(3).shuffle(batches)
    errors: list = []

    def writer(mine):
        for agent, body in mine:
            for _attempt in range(6):  # a 503 on an overloaded machine is retried, as clients do
                status, answer = tenant.post(agent, body)
                if status != 503:
                    break
            if status not in (200, 201):
                errors.append((status, answer))

    threads = [threading.Thread(target=writer, args=(batches[n::writers],)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def _sums(executions, dimension: str, start: date, end: date) -> dict[str, tuple]:
    """Every value's (count, failures, cost, tokens in, tokens out, duration) over start…end, raw."""
    sums: dict[str, list[int]] = {}
    for execution in executions:
        if start.isoformat() <= execution.started_at[:10] <= end.isoformat():
            value = execution.model if dimension == "model" else getattr(execution, f"{dimension}_id")
            if value is None:
                continue  # a run without a session adds to no session row
            row = sums.setdefault(value, [0] * 6)
            for index, amount in enumerate((
                1, 0 if execution.status == "succeeded" else 1, int(execution.cost_micro_usd),
                int(execution.tokens_in), int(execution.tokens_out), int(execution.duration_ms),
            )):  # fmt: skip
                row[index] += amount
    return {value: tuple(row) for value, row in sums.items()}


def _stored_digest(tenant_id: str, dimension: str, start: date, end: date) -> RollupDigest:
    return RollupDigest.get(compaction.digest_pk(tenant_id, dimension, start, end))


def _pages(tenant_id: str, period: Period, today: date) -> queries.TopPages:
    """What the overview knows after its first round: its digests and the daily counts."""
    prev = period.previous
    ranges = [(d, s, e) for d in DIMENSIONS for s, e in ((period.start, period.end), (prev.start, prev.end))]
    pages = queries.TopPages(today=today).load([], queries.digest_keys(tenant_id, ranges, today))
    pages.know_days(queries.daily(tenant_id, "total", prev.start, period.end), prev.start, period.end)
    return pages


def _assert_digests_exact(tenant_id: str, executions, today: date) -> int:
    """Every digest of today's ranges holds exactly the raw figures; how many digests were checked."""
    checked = 0
    ranges = {r for pair in compaction.ranges_of(today) for r in pair if r is not None}
    for start, end in sorted(ranges):
        for dimension in DIMENSIONS:
            raw = _sums(executions, dimension, start, end)
            if not raw:
                with pytest.raises(RollupDigest.DoesNotExist):
                    _stored_digest(tenant_id, dimension, start, end)
                continue
            digest = _stored_digest(tenant_id, dimension, start, end)
            rows = {row[0]: tuple(row[1:]) for row in compaction.unpack(digest.rows)}
            assert digest.tag_count == sum(r[0] for r in raw.values())
            assert digest.tag_cost == sum(r[2] for r in raw.values())
            for value, figures in rows.items():
                assert figures == raw.get(value, (0,) * 6), (start, end, dimension, value)
            left_out = [figures[2] for value, figures in raw.items() if value not in rows]
            assert digest.complete == (not left_out)
            assert digest.bound == max(left_out, default=0)
            # The values left out are in the tails, each in the one its hash names, exactly.
            tails = {}
            for number in range(digest.tails or 0):
                tail = RollupDigest.get(compaction.tail_pk(digest.pk, number))
                assert (tail.tag_count, tail.tag_cost) == (digest.tag_count, digest.tag_cost)
                for row in compaction.unpack(tail.rows):
                    assert compaction.tail_of(row[0], digest.tails) == number
                    tails[row[0]] = tuple(row[1:])
            assert tails == {value: figures for value, figures in raw.items() if value not in rows}
            # The costliest values are always in (ties by name).
            ordered = sorted(raw, key=lambda v: (-raw[v][2], v))
            assert set(ordered[: compaction.DIGEST_ROWS]) <= set(rows)
            checked += 1
    return checked


def _assert_overview_exact(tenant_id: str, executions, today: date) -> None:
    for period in compaction.preset_periods(today):
        figures = overview.build(STAFF_SCOPE, period, tenant_id)
        tops = {
            "agent": figures.top_agents,
            "model": figures.top_models,
            "user": figures.top_users,
            "session": figures.top_sessions,
        }
        for dimension, rows in tops.items():
            expected = recomputed_top(executions, dimension, period.start, period.end)
            assert [(r.value, r.totals.cost_micro_usd, r.totals.count) for r in rows] == expected, (
                period,
                dimension,
            )
            before = _sums(executions, dimension, period.previous.start, period.previous.end)
            for row in rows:
                previous = before.get(row.value, (0,) * 6)
                assert (row.previous.count, row.previous.cost_micro_usd) == (previous[0], previous[2])


@pytest.mark.parametrize("kept_rows", [1_000, 3])  # 3: digests leave values out, pages read the rest
def test_digests_and_the_pages_read_from_them_equal_a_recomputation(tenant, monkeypatch, kept_rows):
    monkeypatch.setattr(compaction, "DIGEST_ROWS", kept_rows)
    today = clock.now().date()
    users = [f"u{n:03d}" for n in range(40)]
    executions = list(
        demo.generate(random.Random(21), tenant.tenant_id, users, 360, clock.now(), days=70, id_prefix="dg")
    )
    _post_concurrently(tenant, executions)  # every batch twice, from four writers at once
    assert compaction.due([tenant.tenant_id], today) == [tenant.tenant_id]
    compaction.rebuild(tenant.tenant_id, today)
    assert compaction.due([tenant.tenant_id], today) == []
    stored = raw_executions(tenant.tenant_id)
    assert len(stored) == len(executions)
    assert _assert_digests_exact(tenant.tenant_id, stored, today) > 20
    # The pages read the digests (the 30-day period: its settled days and its previous period).
    period = Period.last(30, today)
    pages = _pages(tenant.tenant_id, period, today)
    for dimension in DIMENSIONS:
        parts = pages.parts(tenant.tenant_id, dimension, period.start, period.end)
        assert isinstance(parts[0], rollup_reads._DigestPart), dimension
        assert [type(part) for part in parts[1:]] == [rollup_reads._Bucket] * (len(parts) - 1)
    _assert_overview_exact(tenant.tenant_id, stored, today)


def test_values_a_digest_left_out_come_from_its_tails_or_else_from_the_buckets(tenant, monkeypatch):
    """A flat shape: digests keep 2 rows of 30 near-equal users. The pages read the left-out values
    from the tails (no settled bucket is read); with a tail gone, from the buckets; exact either way."""
    monkeypatch.setattr(compaction, "DIGEST_ROWS", 2)
    today = clock.now().date()
    users = [f"u{n:03d}" for n in range(30)]
    executions = list(
        demo.generate(random.Random(5), tenant.tenant_id, users, 240, clock.now(), days=40, id_prefix="tl")
    )
    _post_concurrently(tenant, executions, twice=False)
    compaction.rebuild(tenant.tenant_id, today)
    stored = raw_executions(tenant.tenant_id)
    asked: list[str] = []
    real_get, real_read = rollup_reads._batch_get, rollup_reads._Bucket.read

    def batch_get(keys):
        asked.extend(pk for pk, _ in keys)
        return real_get(keys)

    def read(self, limit, known):
        asked.append(self.pk)
        return real_read(self, limit, known)

    monkeypatch.setattr(rollup_reads, "_batch_get", batch_get)
    monkeypatch.setattr(rollup_reads._Bucket, "read", read)
    _assert_overview_exact(tenant.tenant_id, stored, today)
    live = {rollups.ranked_pk(tenant.tenant_id, d, rollups.day_bucket(today)) for d in DIMENSIONS}
    digested = {pk for pk in asked if pk.split("#")[1] in DIMENSIONS}
    assert digested <= live  # no settled bucket of a packed dimension was read: the tails told
    period = Period.last(30, today)
    digest = _stored_digest(
        tenant.tenant_id, "user", *compaction.settled_part(period.start, period.end, today)
    )
    assert digest.tails
    RollupDigest(compaction.tail_pk(digest.pk, 0)).delete()
    asked.clear()
    _assert_overview_exact(tenant.tenant_id, stored, today)
    assert {pk for pk in asked if pk.split("#")[1] in DIMENSIONS} - live  # the buckets told instead


def test_a_value_left_out_is_read_from_the_one_tail_its_hash_names(tenant, monkeypatch):
    """Tails are small and many: the figures of two values a digest left out read at most two tail
    items, not all of them, and equal the raw sums; a value with no execution in the range is zero."""
    monkeypatch.setattr(compaction, "DIGEST_ROWS", 2)
    monkeypatch.setattr(compaction, "TAIL_BYTES", 120)
    today = clock.now().date()
    users = [f"u{n:03d}" for n in range(40)]
    executions = list(
        demo.generate(random.Random(6), tenant.tenant_id, users, 240, clock.now(), days=40, id_prefix="ot")
    )
    _post_concurrently(tenant, executions, twice=False)
    compaction.rebuild(tenant.tenant_id, today)
    period = Period.last(30, today)
    settled = compaction.settled_part(period.start, period.end, today)
    stored_digest = _stored_digest(tenant.tenant_id, "user", *settled)
    assert stored_digest.tails >= 4
    head = {row[0] for row in compaction.unpack(stored_digest.rows)}
    left_out = [user for user in users if user not in head][:2] + ["never-ran"]
    read: list[tuple[str, int]] = []
    real = rollup_reads._read_tails

    def read_tails(wanted):
        read.extend(wanted)
        return real(wanted)

    monkeypatch.setattr(rollup_reads, "_read_tails", read_tails)
    pages = _pages(tenant.tenant_id, period, today)
    (found,) = rollup_reads.figures_of(tenant.tenant_id, [("user", *settled, left_out)], pages)
    assert 1 <= len(read) <= 3 < stored_digest.tails
    raw = _sums(raw_executions(tenant.tenant_id), "user", *settled)
    for user in left_out:
        count, _, cost, *_ = raw.get(user, (0,) * 6)
        assert (found[user].count, found[user].cost_micro_usd) == (count, cost), user


def test_beside_a_digest_today_s_small_values_read_no_tail_and_the_page_writes_nothing(tenant, monkeypatch):
    """Today's hundred small users cannot reach the 10th costliest, whose figures the digest's rows
    hold: a value the digest left out costs at most its `bound`, not as much as its next row not yet
    taken, so the page reads no tail; and today's first page is not kept (no write on a view)."""
    monkeypatch.setattr(compaction, "DIGEST_ROWS", 70)
    monkeypatch.setattr(rollup_reads, "SETTLED_SECONDS", 0)  # today's bucket counts as settled: keepable
    now = clock.now()
    executions = list(
        demo.generate(random.Random(4), tenant.tenant_id, ["u"], 300, now, days=3, id_prefix="bd")
    )
    for n, execution in enumerate(executions):
        if n < 200:  # two days ago: 70 users well apart, 130 who spent next to nothing
            execution.user_id, execution.started_at = f"u{n:03d}", clock.iso_ms(now - timedelta(days=2))
            execution.cost_micro_usd = 10_000 - n if n < 70 else 1
        else:  # today: a hundred users of the small ones, 300 µUSD each
            execution.user_id, execution.started_at = f"u{n - 100:03d}", clock.iso_ms(now)
            execution.cost_micro_usd = 300
    _post_concurrently(tenant, executions, twice=False)
    today = now.date()
    compaction.rebuild(tenant.tenant_id, today)
    tails: list = []
    written: list = []
    real_tails, real_put = rollup_reads._read_tails, rollup_reads.batch_put
    monkeypatch.setattr(
        rollup_reads, "_read_tails", lambda wanted: (tails.extend(wanted), real_tails(wanted))
    )
    monkeypatch.setattr(
        rollup_reads,
        "batch_put",
        lambda model, items: (written.extend(i.pk for i in items), real_put(model, items)),
    )
    _assert_overview_exact(tenant.tenant_id, raw_executions(tenant.tenant_id), today)
    assert tails == []
    assert [pk for pk in written if pk.split("#")[1] in DIMENSIONS] == []


def test_a_late_arrival_for_a_settled_day_is_never_read_from_an_old_digest_and_is_packed_next_pass(tenant):
    today = clock.now().date()
    users = [f"u{n:03d}" for n in range(30)]
    executions = list(
        demo.generate(random.Random(8), tenant.tenant_id, users, 200, clock.now(), days=40, id_prefix="on")
    )
    _post_concurrently(tenant, executions, twice=False)
    compaction.rebuild(tenant.tenant_id, today)
    # Late: runs of 12 and 33 days ago arrive now, from two writers, each batch twice; one lands on
    # an agent the digest did not have that day, and makes it the costliest of the month.
    ten_days_ago = clock.now() - timedelta(days=12)
    late = list(
        demo.generate(random.Random(9), tenant.tenant_id, users, 40, ten_days_ago, days=22, id_prefix="late")
    )
    late[-1].agent_id, late[-1].cost_micro_usd = "newcomer-agent", 10**9  # the newest: 12 days ago
    _post_concurrently(tenant, late, writers=2)
    stored = raw_executions(tenant.tenant_id)
    assert len(stored) == len(executions) + len(late)
    period = Period.last(30, today)
    pages = _pages(tenant.tenant_id, period, today)
    part = pages.parts(tenant.tenant_id, "agent", period.start, period.end)[0]
    assert isinstance(part, rollup_reads._Bucket), "the digest no longer holds: its tag is outgrown"
    _assert_overview_exact(tenant.tenant_id, stored, today)
    assert compaction.due([tenant.tenant_id], today) == [tenant.tenant_id]  # dirty since the build
    compaction.rebuild(tenant.tenant_id, today)  # what the worker's next pass does
    assert _assert_digests_exact(tenant.tenant_id, stored, today)
    pages = _pages(tenant.tenant_id, period, today)
    part = pages.parts(tenant.tenant_id, "agent", period.start, period.end)[0]
    assert isinstance(part, rollup_reads._DigestPart)
    top = overview.build(STAFF_SCOPE, period, tenant.tenant_id).top_agents[0]
    assert (top.value, top.totals.cost_micro_usd >= 10**9) == ("newcomer-agent", True)


def test_writers_during_a_build_leave_a_digest_that_is_exact_or_refused_and_the_tenant_due(tenant):
    today = clock.now().date()
    users = [f"u{n:03d}" for n in range(30)]
    executions = list(
        demo.generate(random.Random(12), tenant.tenant_id, users, 240, clock.now(), days=50, id_prefix="bw")
    )
    _post_concurrently(tenant, executions, twice=False)
    late = list(
        demo.generate(
            random.Random(13), tenant.tenant_id, users, 120, clock.now() - timedelta(days=3), days=40,
            id_prefix="bwl",
        )
    )  # fmt: skip
    writers = threading.Thread(target=_post_concurrently, args=(tenant, late, 3, False))
    # The build starts while three writers post runs for settled days.
    writers.start()
    compaction.rebuild(tenant.tenant_id, today)
    writers.join()
    stored = raw_executions(tenant.tenant_id)
    period = Period.last(90, today)
    pages = _pages(tenant.tenant_id, period, today)
    for dimension in DIMENSIONS:
        part = pages.parts(tenant.tenant_id, dimension, period.start, period.end)[0]
        if isinstance(part, rollup_reads._DigestPart):  # taken only if it holds exactly what is stored
            raw = _sums(stored, dimension, period.start, today - timedelta(days=1))
            for row in part.digest.rows:
                assert tuple(row[1:]) == raw[row[0]]
    _assert_overview_exact(tenant.tenant_id, stored, today)
    # A write that landed after the build's stamp leaves the tenant due; one pass later all is exact.
    if compaction.due([tenant.tenant_id], today):
        compaction.rebuild(tenant.tenant_id, today)
    assert compaction.due([tenant.tenant_id], today) == []
    assert _assert_digests_exact(tenant.tenant_id, stored, today)
