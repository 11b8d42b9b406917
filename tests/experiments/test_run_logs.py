"""The live log viewer: /experiments/{id}/runs/{run_id}/logs/, its htmx polls (logs/tail/) and
"load earlier" (logs/earlier/)."""

import html
import re

import pytest

from dashboard.dynamo.base import client_of
from dashboard.experiments import queries, services
from dashboard.experiments.queries import logs
from tests.experiments.conftest import api_scope

HTMX = {"HX-Request": "true"}


def _url(run, **params) -> str:
    return f"/experiments/{run.experiment_id}/runs/{run.run_id}/logs/"


def _tail_url(content: bytes) -> str | None:
    match = re.search(r'id="log-tail"[^>]*hx-get="([^"]+)"', content.decode())
    return html.unescape(match.group(1)) if match else None


def _messages(content: bytes) -> list[str]:
    # Search terms are highlighted in <mark>; the message itself is what the reader sees.
    found = re.findall(r'<span class="msg">(.*?)</span>', content.decode(), re.S)
    return [html.unescape(re.sub(r"</?mark>", "", m)) for m in found]


def _poll(client, url):
    return client.get(url, headers=HTMX)


def test_it_shows_the_runs_lines_newest_at_the_bottom(acme_admin, make_experiment, make_run, write, base_ms):
    run = make_run(make_experiment())
    write(
        run,
        [
            ("info", "first", base_ms, 0),
            ("warning", "second", base_ms + 5, 1),
            ("error", "third", base_ms + 9, 2),
        ],
    )
    response = acme_admin.get(_url(run))
    assert response.status_code == 200
    assert _messages(response.content) == ["first", "second", "third"]
    assert b"sev-warning" in response.content and b"sev-error" in response.content
    assert _tail_url(response.content) is not None  # the run is running: the page polls


def test_structured_fields_are_expandable(acme_admin, make_experiment, make_run, base_ms):
    run = make_run(make_experiment())
    from dashboard.experiments import services

    services.ingest(
        api_scope("acme"),
        run.experiment_id,
        {
            "run_id": run.run_id,
            "ts": base_ms,
            "severity": "info",
            "message": "eval",
            "fields": {"accuracy": 0.91},
        },
    )
    content = acme_admin.get(_url(run)).content.decode()
    assert "<details>" in content and "accuracy=0.91" in content and "&quot;accuracy&quot;: 0.91" in content


def test_a_poll_returns_only_lines_after_the_last_one_shown_even_with_equal_timestamps(
    acme_admin, make_experiment, make_run, write, base_ms
):
    run = make_run(make_experiment())
    write(run, [("info", f"same ms {i}", base_ms, i) for i in range(3)])
    tail = _tail_url(acme_admin.get(_url(run)).content)
    write(
        run,
        [
            ("info", "same ms 3", base_ms, 3),
            ("info", "same ms 4", base_ms, 4),
            ("info", "later", base_ms + 1, 5),
        ],
    )
    response = _poll(acme_admin, tail)
    assert response.status_code == 200
    assert _messages(response.content) == ["same ms 3", "same ms 4", "later"]
    again = _poll(acme_admin, _tail_url(response.content))
    assert _messages(again.content) == []
    assert _tail_url(again.content) is not None


def test_lines_written_while_a_poll_is_in_flight_arrive_with_the_next_poll(
    acme_admin, make_experiment, make_run, write, base_ms, monkeypatch
):
    run = make_run(make_experiment())
    write(run, [("info", "before", base_ms, 0)])
    tail = _tail_url(acme_admin.get(_url(run)).content)
    original = queries.read_window

    def tail_then_write(*args, **kwargs):
        window = original(*args, **kwargs)  # the poll's query has run; its response is not out yet
        write(run, [("info", "during, same ms", base_ms, 1), ("info", "during", base_ms + 2, 2)])
        return window

    monkeypatch.setattr(logs, "read_window", tail_then_write)
    first = _poll(acme_admin, tail)
    monkeypatch.setattr(logs, "read_window", original)
    assert _messages(first.content) == []
    second = _poll(acme_admin, _tail_url(first.content))
    assert _messages(second.content) == ["during, same ms", "during"]


def test_the_cursor_never_skips_or_repeats_a_line_across_many_polls(
    acme_admin, make_experiment, make_run, write, base_ms, monkeypatch
):
    monkeypatch.setattr("dashboard.experiments.views.WINDOW", 7)  # small windows: many polls, many boundaries
    run = make_run(make_experiment())
    tail = _tail_url(acme_admin.get(_url(run)).content)
    written, shown, seq = [], [], 0
    for round_number in range(12):
        batch = [
            ("info", f"line {seq + i}", base_ms + (seq + i) // 4, seq + i)
            for i in range(round_number % 5 * 3)
        ]
        if batch:
            write(run, batch)
        written.extend(spec[1] for spec in batch)
        seq += len(batch)
        response = _poll(acme_admin, tail)
        shown.extend(_messages(response.content))
        tail = _tail_url(response.content)
    while len(shown) < len(written):
        response = _poll(acme_admin, tail)
        assert _messages(response.content), "a poll came back empty while lines were still unshown"
        shown.extend(_messages(response.content))
        tail = _tail_url(response.content)
    assert shown == written


def test_polling_stops_with_286_once_the_run_finished_and_every_line_is_shown(
    acme_admin, make_experiment, make_run, write, base_ms
):
    run = make_run(make_experiment())
    write(run, [("info", "working", base_ms, 0)])
    tail = _tail_url(acme_admin.get(_url(run)).content)
    write(run, [("error", "oops", base_ms + 1, 1)])
    services.finish_run(api_scope("acme"), run.experiment_id, run.run_id, "failed")
    response = _poll(acme_admin, tail)
    assert response.status_code == 286
    assert _messages(response.content)[0] == "oops"
    assert _messages(response.content)[1].startswith("Run failed after")
    assert _tail_url(response.content) is None
    assert "logs:run-finished" in response["HX-Trigger"]


def test_a_filtered_view_also_stops_polling_when_the_run_ends(
    acme_admin, make_experiment, make_run, write, base_ms
):
    run = make_run(make_experiment())
    write(run, [("error", "bad", base_ms, 0)])
    tail = _tail_url(acme_admin.get(_url(run), {"severity": "error"}).content)
    assert "severity=error" in tail
    assert _poll(acme_admin, tail).status_code == 200
    services.finish_run(api_scope("acme"), run.experiment_id, run.run_id, "succeeded")
    assert _poll(acme_admin, tail).status_code == 286


def test_a_finished_run_does_not_poll(acme_admin, make_experiment, make_run, write, base_ms):
    run = make_run(make_experiment())
    write(run, [("info", "done soon", base_ms, 0)])
    services.finish_run(api_scope("acme"), run.experiment_id, run.run_id, "succeeded")
    content = acme_admin.get(_url(run)).content
    assert _tail_url(content) is None
    assert b"End of the log" in content


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"severity": "warning"}, ["w-data", "e-trainer", "c-gpu"]),
        ({"component": "trainer"}, ["i-trainer", "e-trainer"]),
        ({"component": "trainer", "severity": "error"}, ["e-trainer"]),
        ({"q": "gpu"}, ["c-gpu", "d-gpu"]),
    ],
)
def test_filters_show_exactly_the_matching_lines(
    acme_admin, make_experiment, make_run, write, base_ms, params, expected
):
    run = make_run(make_experiment())
    write(
        run,
        [
            ("info", "i-trainer", base_ms, 0, "trainer"),
            ("warning", "w-data", base_ms + 1, 1, "data"),
            ("error", "e-trainer", base_ms + 2, 2, "trainer"),
            ("critical", "c-gpu", base_ms + 3, 3, "gpu"),
            ("debug", "d-gpu", base_ms + 4, 4, "gpu"),
        ],
    )
    full = acme_admin.get(_url(run), params)
    assert _messages(full.content) == expected
    partial_view = acme_admin.get(_url(run), params, headers=HTMX)
    assert partial_view.content.lstrip().startswith(b'<section id="log-viewer"')
    assert _messages(partial_view.content) == expected


def test_load_earlier_pages_upward(acme_admin, make_experiment, make_run, write, base_ms, monkeypatch):
    monkeypatch.setattr("dashboard.experiments.views.WINDOW", 4)
    run = make_run(make_experiment())
    write(run, [("info", f"l{i}", base_ms + i, i) for i in range(10)])
    content = acme_admin.get(_url(run)).content
    assert _messages(content) == ["l6", "l7", "l8", "l9"]
    shown = []
    earlier = re.search(r'id="log-earlier".*?hx-get="([^"]+)"', content.decode(), re.S)
    while earlier:
        response = acme_admin.get(html.unescape(earlier.group(1)), headers=HTMX)
        shown = _messages(response.content) + shown
        earlier = re.search(r'id="log-earlier".*?hx-get="([^"]+)"', response.content.decode(), re.S)
    assert shown == [f"l{i}" for i in range(6)]


def test_downloads_stream_the_whole_log_as_ndjson_and_text(
    acme_admin, make_experiment, make_run, write, base_ms
):
    import json

    run = make_run(make_experiment())
    write(run, [("info", f"l{i}", base_ms + i, i) for i in range(30)])
    response = acme_admin.get(f"{_url(run)}download/", {"format": "ndjson"})
    assert response.streaming and response["Content-Type"] == "application/x-ndjson"
    assert f"{run.run_id}.ndjson" in response["Content-Disposition"]
    rows = [json.loads(row) for row in b"".join(response.streaming_content).splitlines()]
    assert [row["message"] for row in rows] == [f"l{i}" for i in range(30)]
    text = b"".join(acme_admin.get(f"{_url(run)}download/", {"format": "text"}).streaming_content).decode()
    assert text.splitlines()[0].endswith("INFO     [trainer] l0")
    assert acme_admin.get(f"{_url(run)}download/", {"format": "pdf"}).status_code == 422


def test_it_refuses_another_tenants_run_even_with_a_stolen_poll_link(
    acme_admin, globex_admin, make_experiment, make_run, write, base_ms
):
    run = make_run(make_experiment("acme"))
    write(run, [("info", "secret", base_ms, 0)])
    tail = _tail_url(acme_admin.get(_url(run)).content)
    assert globex_admin.get(_url(run)).status_code == 404
    assert _poll(globex_admin, tail).status_code == 404
    assert globex_admin.get(f"{_url(run)}download/").status_code == 404


def test_a_forged_poll_token_falls_back_to_checking_the_run(globex_admin, make_experiment, make_run):
    run = make_run(make_experiment("acme"))
    response = _poll(globex_admin, f"{_url(run)}tail/?after=&t=forged")
    assert response.status_code == 404


def test_staff_may_watch_any_tenants_run_and_moderators_may_not(
    staff, moderator, make_experiment, make_run, write, base_ms
):
    run = make_run(make_experiment("globex"))
    write(run, [("info", "visible to staff", base_ms, 0)])
    assert "visible to staff" in _messages(staff.get(_url(run)).content)
    assert moderator.get(_url(run)).status_code == 403


def test_a_bad_poll_position_is_a_clear_error_not_a_500(acme_admin, make_experiment, make_run):
    run = make_run(make_experiment())
    assert acme_admin.get(f"{_url(run)}tail/", {"after": "nonsense"}, headers=HTMX).status_code == 422
    assert acme_admin.get(_url(run), {"severity": "loud"}).status_code == 422


def test_a_download_cut_by_the_database_says_so_at_its_end(
    acme_admin, make_experiment, make_run, write, base_ms, monkeypatch
):
    from botocore.exceptions import EndpointConnectionError

    from dashboard.experiments.models import RunLogLine

    monkeypatch.setattr(logs, "DOWNLOAD_PAGE", 5)
    run = make_run(make_experiment())
    write(run, [("info", f"line {n}", base_ms + n, n) for n in range(12)])
    events = client_of(RunLogLine).meta.events
    calls = []

    def fail_after_the_first_page(**kwargs):
        calls.append(1)
        if len(calls) > 1:
            raise EndpointConnectionError(endpoint_url="http://dynamodb")

    for fmt, cut in (("ndjson", '"code": "download_cut"'), ("text", "!! download cut after 5 lines")):
        calls.clear()
        events.register("before-send.dynamodb.Query", fail_after_the_first_page)
        try:
            response = acme_admin.get(f"{_url(run)}download/", {"format": fmt})
            body = b"".join(response.streaming_content).decode()
        finally:
            events.unregister("before-send.dynamodb.Query", fail_after_the_first_page)
        assert response.status_code == 200
        *shown, last = body.rstrip().splitlines()
        assert len(shown) == 5 and cut in last


def test_a_download_answers_503_when_the_database_fails_before_the_first_line(
    acme_admin, make_experiment, make_run, write, base_ms
):
    from botocore.exceptions import EndpointConnectionError

    from dashboard.experiments.models import RunLogLine

    run = make_run(make_experiment())
    write(run, [("info", "only line", base_ms, 1)])
    events = client_of(RunLogLine).meta.events

    def fail(**kwargs):
        raise EndpointConnectionError(endpoint_url="http://dynamodb")

    events.register("before-send.dynamodb.Query", fail)
    try:
        response = acme_admin.get(f"{_url(run)}download/", {"format": "ndjson"})
    finally:
        events.unregister("before-send.dynamodb.Query", fail)
    assert response.status_code == 503
