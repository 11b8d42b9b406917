"""Log patterns mined at ingestion (drain3): the page, the API, retries, a pattern's lines, and two runs compared."""

import html
import re
from urllib.parse import unquote

from dashboard.experiments import patterns, queries


def _patterns_url(run) -> str:
    return f"/experiments/{run.experiment_id}/runs/{run.run_id}/logs/patterns/"


def _story(run_index: int, count: int, base_ms: int, start_seq: int = 0) -> list[tuple]:
    specs = []
    for i in range(count):
        seq = start_seq + i
        if i % 5 == 4:
            specs.append(("warning", f"saved checkpoint step-{seq}.pt", base_ms + seq, seq))
        else:
            specs.append(("info", f"Epoch {seq} loss=0.{seq:03d} lr=0.001", base_ms + seq, seq))
    return specs


def test_repeated_lines_read_as_a_page_of_patterns_with_counts_and_times(
    acme_admin, make_experiment, make_run, write, base_ms
):
    run = make_run(make_experiment())
    write(run, _story(0, 50, base_ms))
    write(run, _story(0, 50, base_ms))  # a retry: the same lines are not mined twice
    view = queries.run_patterns(*_scope_args(run))
    shown = {pattern.shown: pattern for pattern in view.patterns}
    assert shown["Epoch * loss=* lr=*"].count == 40
    assert shown["saved checkpoint step-*.pt"].count == 10
    assert (
        shown["Epoch * loss=* lr=*"].first_ms == base_ms
        and shown["Epoch * loss=* lr=*"].last_ms == base_ms + 48
    )
    assert view.mined == 50
    content = html.unescape(acme_admin.get(_patterns_url(run)).content.decode())
    assert "Epoch * loss=* lr=*" in content and ">40<" in content


def _scope_args(run):
    from tests.experiments.conftest import api_scope

    return api_scope(run.tenant_id), run.experiment_id, run.run_id


def test_a_patterns_link_opens_the_viewer_on_its_lines(acme_admin, make_experiment, make_run, write, base_ms):
    run = make_run(make_experiment())
    write(run, [*_story(0, 10, base_ms), ("error", "CUDA out of memory", base_ms + 100, 100)])
    content = acme_admin.get(_patterns_url(run)).content.decode()
    links = dict(
        (html.unescape(re.sub(r"<.*?>", "", text)), html.unescape(href))
        for href, text in re.findall(r'class="pattern-link" href="([^"]+)">(.*?)</a>', content)
    )
    viewer = acme_admin.get(links["saved checkpoint step-*.pt"])
    found = re.findall(r'<span class="msg">(.*?)</span>', viewer.content.decode(), re.S)
    assert [re.sub(r"</?mark>", "", m) for m in found] == [
        "saved checkpoint step-4.pt",
        "saved checkpoint step-9.pt",
    ]


def test_the_api_lists_the_patterns(acme_api, make_experiment, make_run, write, base_ms):
    run = make_run(make_experiment())
    write(run, _story(0, 20, base_ms))
    body = acme_api.get(f"/api/experiments/{run.experiment_id}/runs/{run.run_id}/logs/patterns").json()
    assert body["mined"] == 20
    first = body["patterns"][0]
    assert first["shown"] == "Epoch * loss=* lr=*" and first["count"] == 16
    lines = acme_api.get(
        f"/api/experiments/{run.experiment_id}/runs/{run.run_id}/logs", q=first["regex"], regex="true"
    ).json()["lines"]
    assert len(lines) == 16


def test_the_miners_state_stays_bounded_however_many_different_lines_arrive():
    miner = patterns.Miner()
    for i in range(patterns.MAX_PATTERNS * 3):
        miner.add(f"unique{i} " + "word " * (i % 7) + "x" * 1000, i)
    state = miner.dump()
    assert len(patterns.patterns_of(state)) <= patterns.MAX_PATTERNS
    assert len(state.encode()) < 100_000  # one DynamoDB item (400 KB) with room to spare
    assert len(patterns.Miner.load(state).patterns()) == len(patterns.patterns_of(state))


def test_two_runs_logs_side_by_side_with_their_patterns_diffed(
    acme_admin, make_experiment, make_run, write, base_ms
):
    experiment = make_experiment()
    left, right = make_run(experiment, "baseline"), make_run(experiment, "bigger lr")
    write(left, [("info", "Epoch 1 loss=0.5", base_ms, 0), ("info", "Epoch 2 loss=0.4", base_ms + 1000, 1)])
    write(
        right,
        [
            ("info", "Epoch 1 loss=0.9", base_ms + 60_000, 0),
            ("error", "loss is NaN", base_ms + 60_500, 1),
            ("error", "loss is NaN", base_ms + 60_900, 2),
        ],
    )
    response = acme_admin.get(
        f"/experiments/{experiment.experiment_id}/logs/compare/", {"a": left.run_id, "b": right.run_id}
    )
    assert response.status_code == 200
    content = html.unescape(response.content.decode())
    offsets = re.findall(r'<td class="log-time">(.*?)</td>', content)
    assert offsets == ["+0:00:00.000", "+0:00:00.000", "+0:00:00.500", "+0:00:00.900", "+0:00:01.000"]
    rows = re.findall(
        r'<tr class="pattern-diff-row"><td><code>(.*?)</code></td>.*?>(-?\+?\d+)</td></tr>', content
    )
    assert ("loss is NaN", "+2") in rows


def test_two_runs_compared_page_by_page_show_every_line_once_in_time_order(
    acme_admin, make_experiment, make_run, write, base_ms, monkeypatch
):
    """Pages of 4 lines a run: each page stops where the first run with more lines stops, so every
    line of both runs is shown once, in time-from-start order, and the link of one comparison is
    refused for another."""
    from dashboard.experiments.queries import stats

    monkeypatch.setattr(stats, "COMPARE_LINES", 4)
    experiment = make_experiment()
    left, right = make_run(experiment, "slow"), make_run(experiment, "fast")
    write(left, [("info", f"left {n}", base_ms + 1_000 * n, n) for n in range(9)])  # every second
    write(right, [("info", f"right {n}", base_ms + 5_000 + 300 * n, n) for n in range(11)])  # every 0.3 s
    url = f"/experiments/{experiment.experiment_id}/logs/compare/"
    seen, pages, params = [], 0, {"a": left.run_id, "b": right.run_id}
    while True:
        content = html.unescape(acme_admin.get(url, params).content.decode())
        pages += 1
        seen += re.findall(
            r"<td class=\"compare-(?:left|right)\">.*?</span> ((?:left|right) \d+)</td>", content
        )
        later = re.search(r'id="compare-later"\s+href="[^"]*cursor=([^"&]+)', content)
        if not later:
            break
        params = {**params, "cursor": unquote(later.group(1))}
        assert pages < 10
    expected = sorted(
        [(1_000 * n, 0, f"left {n}") for n in range(9)] + [(300 * n, 1, f"right {n}") for n in range(11)]
    )
    assert seen == [text for *_, text in expected]
    assert pages >= 3
    other = make_run(experiment, "other")
    response = acme_admin.get(url, {"a": left.run_id, "b": other.run_id, "cursor": params["cursor"]})
    assert response.status_code == 400
