"""`manage.py import_executions FILE --tenant T`: the API's rules per line, counted once, resumable."""

from __future__ import annotations

import json
import random
import threading
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command

from dashboard.analytics import demo, rollups, services
from dashboard.analytics.models import Execution
from dashboard.core import clock
from dashboard.dynamo.transactions import batch_put
from tests.analytics.conftest import raw_executions, recomputed_rollups, stored_rollups
from tests.analytics.test_rollup_consistency import _body

CHUNK = 400  # small chunks: several per file, quickly


def _lines(tenant_id, count, prefix="imp"):
    executions = demo.generate(
        random.Random(3), tenant_id, ["ann", "bob"], count, clock.now(), days=30, id_prefix=prefix
    )
    return [json.dumps({"agent_id": e.agent_id, **_body(e)}) for e in executions]


def _total_count(tenant_id) -> int:
    return sum(row["count"] for (pk, _), row in stored_rollups(tenant_id).items() if pk.endswith("#total"))


def test_importing_a_file_twice_counts_each_execution_once(tenant, tmp_path, capsys):
    path = tmp_path / "runs.jsonl"
    path.write_text("\n".join(_lines(tenant.tenant_id, 2 * CHUNK + 300)) + "\n")
    call_command("import_executions", str(path), tenant=tenant.tenant_id, quiet=True, chunk_size=CHUNK)
    assert f"{2 * CHUNK + 300} execution(s) recorded" in capsys.readouterr().out
    call_command("import_executions", str(path), tenant=tenant.tenant_id, quiet=True, chunk_size=CHUNK)
    assert f"0 execution(s) recorded, {2 * CHUNK + 300} already recorded" in capsys.readouterr().out
    assert len(raw_executions(tenant.tenant_id)) == 2 * CHUNK + 300
    assert _total_count(tenant.tenant_id) == 2 * CHUNK + 300
    assert stored_rollups(tenant.tenant_id) == recomputed_rollups(tenant.tenant_id)
    # The API then sees the imported ids as recorded.
    status, answer = tenant.post(
        json.loads(_lines(tenant.tenant_id, 1)[0])["agent_id"], _body_of_first(tenant)
    )
    assert answer["runs"][0]["result"] == "already_recorded"


def _body_of_first(tenant):
    record = json.loads(_lines(tenant.tenant_id, 1)[0])
    record.pop("agent_id")
    return record


def test_a_bad_line_is_reported_by_number_and_nothing_of_it_is_written(tenant, tmp_path, capsys):
    good = _lines(tenant.tenant_id, 3)
    bad_time = json.loads(good[1]) | {"execution_id": "bad-1", "started_at": "yesterday"}
    too_old = json.loads(good[1]) | {
        "execution_id": "bad-2",
        "started_at": (clock.now() - timedelta(days=400)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    }
    lines = [good[0], json.dumps(bad_time), "{not json", good[1], json.dumps(too_old), good[2]]
    path = tmp_path / "runs.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(CommandError, match="3 line"):
        call_command("import_executions", str(path), tenant=tenant.tenant_id, quiet=True, chunk_size=CHUNK)
    errors = capsys.readouterr().err
    assert "line 2: started_at" in errors and "line 3: line: Not JSON" in errors
    assert "line 5: started_at: Executions older than 180 days" in errors
    assert sorted(e.execution_id for e in raw_executions(tenant.tenant_id)) == sorted(
        json.loads(line)["execution_id"] for line in good
    )
    assert _total_count(tenant.tenant_id) == 3


def test_an_interrupted_import_run_again_finishes_and_counts_once(tenant, tmp_path):
    lines = _lines(tenant.tenant_id, CHUNK + 700)
    now = clock.now()
    first_chunk = [services.parse_import_line(tenant.tenant_id, line, now)[0] for line in lines[:CHUNK]]
    # The first run stored the first chunk's executions and guards, then died before counting them.
    chunk = services.chunk_id(first_chunk)
    batch_put(Execution, first_chunk)
    from dashboard.analytics.models import ExecutionRollup

    batch_put(
        ExecutionRollup,
        [
            ExecutionRollup(*services.guard_key(tenant.tenant_id, e.execution_id), tenant_id=tenant.tenant_id,
                            ref=f"{e.agent_key}|{e.sk}", counted=True, chunk=chunk,
                            hours_from=rollups.live_hours_from(now))
            for e in first_chunk
        ],
    )  # fmt: skip
    assert _total_count(tenant.tenant_id) == 0
    path = tmp_path / "runs.jsonl"
    path.write_text("\n".join(lines) + "\n")
    call_command("import_executions", str(path), tenant=tenant.tenant_id, quiet=True, chunk_size=CHUNK)
    call_command("import_executions", str(path), tenant=tenant.tenant_id, quiet=True, chunk_size=CHUNK)
    assert _total_count(tenant.tenant_id) == CHUNK + 700
    assert stored_rollups(tenant.tenant_id) == recomputed_rollups(tenant.tenant_id)


def test_an_unknown_tenant_is_refused(people, tmp_path):
    path = tmp_path / "runs.jsonl"
    path.write_text("")
    with pytest.raises(CommandError, match="no tenant"):
        call_command("import_executions", str(path), tenant="no-such-tenant", quiet=True, chunk_size=CHUNK)


def test_an_id_repeated_in_the_file_counts_once_near_or_far(tenant, tmp_path, capsys):
    """Repeats in the same chunk, of the chunk just handed to a writer, and many chunks later (its
    first chunk long written: found by its guard, not held in memory)."""
    lines = _lines(tenant.tenant_id, 12 * 50)
    near = lines[10:12]  # the first chunk is being written when these come
    same = [lines[60]]  # twice in one chunk
    far = lines[:3] + lines[55:57] + lines[:2]
    body = lines[:50] + near + lines[50:61] + same + lines[61:] + far
    path = tmp_path / "runs.jsonl"
    path.write_text("\n".join(body) + "\n")
    call_command("import_executions", str(path), tenant=tenant.tenant_id, quiet=True, chunk_size=50)
    repeats = len(near) + len(same) + len(far)
    assert f"{12 * 50} execution(s) recorded, {repeats} already recorded" in capsys.readouterr().out
    assert len(raw_executions(tenant.tenant_id)) == 12 * 50
    assert _total_count(tenant.tenant_id) == 12 * 50
    assert stored_rollups(tenant.tenant_id) == recomputed_rollups(tenant.tenant_id)


# --- windows: counted many chunks at once, exactly once under crashes, reruns and other writers ---

WINDOW = 300  # counter rows a window sums: several windows in a file of a few hundred lines


def _parsed(tenant_id, lines):
    now = clock.now()
    return [services.parse_import_line(tenant_id, line, now)[0] for line in lines]


def _import(tenant_id, lines, **options):
    return services.import_stream(_parsed(tenant_id, lines), chunk_size=50, window_rows=WINDOW, **options)


def _exact(tenant_id, count):
    assert len(raw_executions(tenant_id)) == count
    assert _total_count(tenant_id) == count
    assert stored_rollups(tenant_id) == recomputed_rollups(tenant_id)


@pytest.mark.parametrize("dies_in", ["store", "count"])
def test_an_import_that_dies_anywhere_and_runs_again_counts_each_execution_once(tenant, monkeypatch, dies_in):
    """It dies storing a chunk (guards claimed, executions not yet put) or counting a window (some of
    its parts landed, not all), after earlier windows were counted; the rerun finishes exactly."""
    lines = _lines(tenant.tenant_id, 600)
    target = "batch_put" if dies_in == "store" else "_apply_part"
    original = getattr(services, target)
    calls = [0]
    lock = threading.Lock()

    def dies_on_the_sixth_call(*args, **kwargs):
        with lock:
            calls[0] += 1
            if calls[0] >= 6:
                raise RuntimeError("the importer stopped")
        return original(*args, **kwargs)

    monkeypatch.setattr(services, target, dies_on_the_sixth_call)
    with pytest.raises(RuntimeError):
        _import(tenant.tenant_id, lines)
    monkeypatch.setattr(services, target, original)
    # Some parts landed, not every count (which parts come first depends on the hour: the last hours'
    # rows go with their day's).
    assert (stored_rollups(tenant.tenant_id) and _total_count(tenant.tenant_id) < 600) or dies_in == "store"
    _import(tenant.tenant_id, lines)
    _exact(tenant.tenant_id, 600)
    again = _import(tenant.tenant_id, lines)
    assert (again.recorded, again.skipped) == (0, 600)
    _exact(tenant.tenant_id, 600)


def test_two_imports_of_the_same_file_at_once_count_each_execution_once(tenant):
    lines = _lines(tenant.tenant_id, 600)
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(_import(tenant.tenant_id, lines))) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2
    _exact(tenant.tenant_id, 600)


def test_an_api_batch_recording_ids_the_import_is_about_to_claim_counts_them_once(tenant, monkeypatch):
    """The API records ids of a chunk after the import read their guards (absent), before it claims
    them: the import's claim is refused for those, and each is counted once, by the API."""
    lines = _lines(tenant.tenant_id, 200)
    original = services._claim_guards
    api_ids = []

    def the_api_first(chunk, executions, hours_from):
        if not api_ids:
            batch = _parsed(tenant.tenant_id, lines[20:45])
            api_ids.extend(e.execution_id for e in batch)
            assert all(outcome.recorded for outcome in services.write_batch(batch))
        return original(chunk, executions, hours_from)

    monkeypatch.setattr(services, "_claim_guards", the_api_first)
    stats = _import(tenant.tenant_id, lines, threads=1)
    assert (stats.recorded, stats.skipped) == (175, 25)
    _exact(tenant.tenant_id, 200)


def test_api_writers_and_an_import_of_overlapping_ids_at_once_count_each_once(tenant):
    lines = _lines(tenant.tenant_id, 400)
    executions = _parsed(tenant.tenant_id, lines[::-1])  # the API from the other end

    def api():
        for start in range(0, len(executions), 25):
            services.write_batch(executions[start : start + 25])

    writer = threading.Thread(target=api)
    writer.start()
    _import(tenant.tenant_id, lines)
    writer.join()
    _exact(tenant.tenant_id, 400)


def test_a_late_arrival_for_a_settled_day_imported_after_the_digests_were_built_counts(tenant):
    from dashboard.analytics.inputs import Period
    from tests.analytics.test_kept_pages import _check, _shown

    _import(tenant.tenant_id, _lines(tenant.tenant_id, 300))  # then its settled days are packed
    today = clock.now().date()
    periods = [Period.last(30, today), Period.last(90, today)]
    for period in periods:
        _check(tenant, period)
    late = json.loads(_lines(tenant.tenant_id, 1, prefix="late")[0]) | {
        "execution_id": "late-1",
        "user_id": "late-whale",
        "started_at": (clock.now() - timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "cost_micro_usd": 900_000_000,
    }
    stats = _import(tenant.tenant_id, [json.dumps(late)])
    assert stats.recorded == 1
    for period in periods:
        _check(tenant, period)
        assert _shown(tenant, period)["user"][0][0] == "late-whale"
    _exact(tenant.tenant_id, 301)


def test_a_chunk_begun_by_the_chunk_at_a_time_importer_is_finished_not_counted_again(tenant, monkeypatch):
    """An import of the earlier protocol died after a chunk's first part of counter rows; the
    windowed import of the same file finishes that chunk its way and counts nothing twice."""
    lines = _lines(tenant.tenant_id, 100)
    original = services._apply_part

    def dies_after_the_first_part(rows, marker, finish=False):
        if len(rows) < 99 or dies_after_the_first_part.landed:
            raise RuntimeError("the importer stopped")
        dies_after_the_first_part.landed = True
        return original(rows, marker, finish)

    dies_after_the_first_part.landed = False
    monkeypatch.setattr(services, "_apply_part", dies_after_the_first_part)
    with pytest.raises(RuntimeError):
        services.import_chunk(_parsed(tenant.tenant_id, lines))
    monkeypatch.setattr(services, "_apply_part", original)
    assert _total_count(tenant.tenant_id) == 0  # the daily totals come in the last part
    stats = services.import_stream(_parsed(tenant.tenant_id, lines), chunk_size=100)
    assert stats.recorded == 100
    _exact(tenant.tenant_id, 100)
