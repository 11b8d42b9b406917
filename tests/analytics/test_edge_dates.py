"""Dates at the ends of the calendar are clear errors, never a 500 (hardening rows 13 and 14)."""

from __future__ import annotations

from tests.analytics.conftest import raw_executions, run, slug, stored_rollups

ANCIENT = {"start": "0001-01-01", "end": "0001-01-05"}


def test_a_period_near_year_one_is_explained_on_the_page_the_csv_and_the_api(tenant):
    page = tenant.client.get("/analytics/", ANCIENT)
    assert page.status_code in (200, 422) and "Choose a start on or after" in page.content.decode()
    csv = tenant.client.get("/analytics/export.csv", ANCIENT)
    assert csv.status_code in (400, 422)
    status, body = tenant.get("/api/analytics/execution", **ANCIENT)
    assert status == 422 and "start" in body["error"]["fields"]
    far = tenant.client.get("/analytics/", {"start": "2026-01-01", "end": "9999-12-31"})
    assert far.status_code in (200, 422) and "cannot end after today" in far.content.decode()


def test_ingestion_times_at_the_ends_of_the_calendar_are_422_and_write_nothing(tenant):
    agent = slug("agent")
    cases = [
        ({"started_at": "0001-01-01T00:00:00+14:00"}, "started_at"),
        ({"started_at": "9999-12-31T23:59:59-14:00"}, "started_at"),
        ({"finished_at": "9999-12-31T23:59:59Z"}, "finished_at"),
    ]
    for fields, name in cases:
        body = run("edge", **fields)
        if "finished_at" in fields:
            del body["duration_ms"]
        status, answer = tenant.post(agent, body)
        assert status == 422 and name in answer["error"]["fields"], (fields, answer)
    assert raw_executions(tenant.tenant_id) == [] and stored_rollups(tenant.tenant_id) == {}
