"""Log lines with addresses: permalinks (logs/lines/<line>/), context around a filtered hit, error navigation,
highlighted search terms, live header counters and the stalled marker."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import quote

from dashboard.core import clock
from dashboard.experiments.models import ExperimentRun
from tests.conftest import element_by_id

HTMX = {"HX-Request": "true"}


def _url(run) -> str:
    return f"/experiments/{run.experiment_id}/runs/{run.run_id}/logs/"


def _line(run, sk: str) -> str:
    return f"{_url(run)}lines/{quote(sk, safe='')}/"


def _error(run, which: str) -> str:
    return f"{_url(run)}errors/{which}/"


def _sk(content: bytes, message: str) -> str:
    rows = re.findall(r'(<tr class="log-row[^>]*data-sk="([^"]+)"[^>]*>.*?</tr>)', content.decode(), re.S)
    return next(sk for row, sk in rows if f">{message}<" in row)


def _shown(content: bytes) -> list[str]:
    return [
        html.unescape(re.sub(r"</?mark>", "", m))
        for m in re.findall(r'<span class="msg">(.*?)</span>', content.decode(), re.S)
    ]


def _target(content: bytes) -> list[str]:
    return re.findall(r'<tr class="log-row[^"]*log-target[^"]*" data-sk="([^"]+)"', content.decode())


def test_a_permalink_opens_the_viewer_around_its_line_highlighted(
    acme_admin, make_experiment, make_run, write, base_ms
):
    run = make_run(make_experiment())
    write(run, [("info", f"line {n}", base_ms + n, n) for n in range(300)])
    page = acme_admin.get(_url(run)).content
    assert "line 10" not in _shown(page)  # the viewer opens at the end: line 10 is far above
    # Every line carries its address; follow the one of line 10 from a window that shows it.
    earlier = acme_admin.get(_url(run), {"q": "line 10"}).content
    sk = _sk(earlier, "line 10")
    assert f'href="{_line(run, sk)}"' in earlier.decode()
    response = acme_admin.get(_line(run, sk))
    assert response.status_code == 200
    shown = _shown(response.content)
    assert shown[:11] == [f"line {n}" for n in range(11)] and "line 60" in shown
    assert _target(response.content) == [sk]


def test_a_permalink_shared_as_at_before_lines_had_addresses_still_opens_its_line(
    acme_admin, globex_admin, make_experiment, make_run, write, base_ms
):
    run = make_run(make_experiment())
    write(run, [("info", f"line {n}", base_ms + n, n) for n in range(3)])
    sk = _sk(acme_admin.get(_url(run)).content, "line 1")
    moved = acme_admin.get(_url(run), {"at": sk})
    assert moved.status_code == 301 and moved["Location"] == _line(run, sk)
    assert _target(acme_admin.get(_url(run), {"at": sk}, follow=True).content) == [sk]
    assert acme_admin.get(_url(run), {"at": "not-a-key"}).status_code == 422
    assert globex_admin.get(_url(run), {"at": sk}, follow=True).status_code == 404


def test_show_context_on_a_filtered_hit_shows_its_unfiltered_neighbours(
    acme_admin, make_experiment, make_run, write, base_ms
):
    run = make_run(make_experiment())
    write(
        run,
        [
            ("info", "loading shard 1", base_ms, 0),
            ("warning", "CUDA memory low", base_ms + 1, 1),
            ("info", "retrying step", base_ms + 2, 2),
        ],
    )
    filtered = acme_admin.get(_url(run), {"q": "cuda"}).content
    assert _shown(filtered) == ["CUDA memory low"]
    assert "<mark>CUDA</mark> memory low" in filtered.decode()  # the search term is highlighted
    link = re.search(r'<a class="log-context small" href="([^"]+)">show context</a>', filtered.decode())
    assert link
    context = acme_admin.get(html.unescape(link.group(1))).content
    assert _shown(context) == ["loading shard 1", "CUDA memory low", "retrying step"]
    assert len(_target(context)) == 1


def test_first_next_and_previous_error_go_to_the_error_lines(
    acme_admin, make_experiment, make_run, write, base_ms
):
    run = make_run(make_experiment())
    write(
        run,
        [
            ("info", "start", base_ms, 0),
            ("error", "oom one", base_ms + 1, 1),
            ("info", "between", base_ms + 2, 2),
            ("critical", "oom two", base_ms + 3, 3),
            ("info", "end", base_ms + 4, 4),
        ],
    )
    first = acme_admin.get(_error(run, "first"), follow=True)
    one = _target(first.content)[0]
    assert "oom one" in first.content.decode() and _sk(first.content, "oom one") == one
    following = acme_admin.get(_error(run, "next"), {"from": one}, follow=True)
    two = _target(following.content)[0]
    assert two == _sk(following.content, "oom two")
    back = acme_admin.get(_error(run, "prev"), {"from": two}, follow=True)
    assert _target(back.content) == [one]
    past_the_end = acme_admin.get(_error(run, "next"), {"from": two}, follow=True)
    assert "No error after this line." in past_the_end.content.decode() and _target(past_the_end.content) == [
        two
    ]


def test_a_bad_or_foreign_address_is_refused_clearly(
    acme_admin, globex_admin, make_experiment, make_run, write, base_ms
):
    run = make_run(make_experiment())
    write(run, [("info", "secret", base_ms, 0)])
    sk = _sk(acme_admin.get(_url(run)).content, "secret")
    assert acme_admin.get(_line(run, "not-a-key")).status_code in (400, 422)
    missing = acme_admin.get(_line(run, f"{base_ms + 99:013d}#0000000099"))
    assert missing.status_code == 404
    assert b"secret" not in globex_admin.get(_line(run, sk)).content


def test_the_poll_keeps_the_headers_counters_live(acme_admin, make_experiment, make_run, write, base_ms):
    run = make_run(make_experiment())
    write(run, [("info", "one", base_ms, 0)])
    page = acme_admin.get(_url(run)).content.decode()
    tail = html.unescape(re.search(r'id="log-tail"[^>]*hx-get="([^"]+)"', page).group(1))
    assert ">0<" in element_by_id(page, "run-errors")
    write(run, [("error", "boom", base_ms + 1, 1), ("warning", "hmm", base_ms + 2, 2)])
    poll = acme_admin.get(tail, headers=HTMX).content.decode()
    head = element_by_id(poll, "run-head")
    assert head and 'hx-swap-oob="true"' in head
    assert ">1<" in element_by_id(poll, "run-errors") and ">1<" in element_by_id(poll, "run-warnings")
    assert ">3<" in element_by_id(poll, "run-lines")


def test_a_running_run_silent_for_longer_than_the_setting_shows_as_stalled(
    acme_admin, make_experiment, make_run, write, base_ms, settings
):
    run = make_run(make_experiment())
    write(run, [("info", "one", base_ms, 0)])
    settings.RUN_STALLED_AFTER_SECONDS = 300
    assert element_by_id(acme_admin.get(_url(run)).content.decode(), "run-stalled") is None
    stored = ExperimentRun.get(run.experiment_key, run.run_id)
    stored.update(
        actions=[
            ExperimentRun.last_write_at.set(clock.now() - timedelta(seconds=400)),
            ExperimentRun.started_at.set(clock.now() - timedelta(seconds=500)),
        ]
    )
    page = acme_admin.get(_url(run)).content.decode()
    assert "stalled" in (element_by_id(page, "run-stalled") or "")
    settings.RUN_STALLED_AFTER_SECONDS = 600
    assert element_by_id(acme_admin.get(_url(run)).content.decode(), "run-stalled") is None
