"""This month so far compares with the same days of the previous month, a whole month with the whole
previous month; the page says what it compares with, and the drivers, the CSV and the API agree."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time

import pytest

from dashboard.analytics.inputs import Period
from dashboard.core import clock
from dashboard.core.clock import iso_ms
from tests.analytics.conftest import run, slug

DEC_7 = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)


@pytest.fixture
def on_dec_7(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: DEC_7)


def _at(day: date) -> str:
    return iso_ms(datetime.combine(day, time(12, 0), tzinfo=UTC))


@pytest.fixture
def spend(on_dec_7, tenant):
    """Dec 1–7: 2 runs. Nov 1–7: 1 run; Nov 8–30: 7 more. October: 2 runs. Same cost each."""
    agent = slug("agent")
    days = (
        [date(2026, 12, 3), date(2026, 12, 6)]
        + [date(2026, 11, 4)]
        + [date(2026, 11, day) for day in (8, 12, 16, 20, 24, 28, 30)]
        + [date(2026, 10, 5), date(2026, 10, 25)]
    )
    runs = [run(f"r-{day.isoformat()}", started_at=_at(day)) for day in days]
    assert tenant.post(agent, {"runs": runs})[0] == 201
    return tenant, agent


def test_this_month_on_dec_7_compares_with_nov_1_to_7_and_says_so(spend):
    tenant, agent = spend
    response = tenant.client.get("/analytics/?period=month")
    overview = response.context["overview"]
    assert (overview.period.start, overview.period.end) == (date(2026, 12, 1), date(2026, 12, 7))
    assert (overview.period.previous.start, overview.period.previous.end) == (
        date(2026, 11, 1),
        date(2026, 11, 7),
    )
    assert overview.current.count == 2 and overview.previous.count == 1  # not all 8 of November
    cost = next(h for h in overview.headlines if h.key == "cost")
    assert cost.change == pytest.approx(1.0) and cost.tone == "bad"  # twice the spend: not a green drop
    html = response.content.decode()
    assert "vs Nov 1–7" in html
    assert "compared with <span data-compared-with>Nov 1–7</span>, the same days of the month before" in html
    # Why did spend change: the same comparison, one more run than Nov 1–7.
    [driver] = overview.drivers
    assert driver.value == agent and (driver.previous.count, driver.current.count) == (1, 2)
    assert driver.volume_effect == driver.change > 0
    assert "against Nov 1–7" in html
    # The budget forecast still stands beside it.
    assert 'id="budget-card"' in html
    assert overview.budget.month_to_date_micro_usd == overview.current.cost_micro_usd


def test_the_api_and_the_csv_give_the_same_month_to_date_comparison(spend):
    tenant, agent = spend
    status, body = tenant.get("/api/analytics/execution", period="month")
    assert status == 200
    assert body["previous_period"] == {
        "start": "2026-11-01",
        "end": "2026-11-07",
        "days": 7,
        "label": "Nov 1–7",
    }
    assert body["previous"]["executions"] == 1 and body["current"]["executions"] == 2
    [contribution] = body["drivers"]["contributions"]
    assert contribution["previous_executions"] == 1
    table = list(
        csv.DictReader(io.StringIO(tenant.client.get("/analytics/export.csv?period=month").content.decode()))
    )
    [previous] = [row for row in table if row["section"] == "previous_period"]
    assert previous["key"] == "2026-11-01..2026-11-07" and previous["executions"] == "1"
    [top] = [row for row in table if row["section"] == "top_agent"]
    assert top["key"] == agent and int(top["previous_cost_micro_usd"]) == int(top["cost_micro_usd"]) // 2


@pytest.mark.parametrize("query", ["period=last-month", "start=2026-11-01&end=2026-11-30"])
def test_a_completed_month_compares_with_the_whole_previous_month(spend, query):
    tenant, _ = spend
    response = tenant.client.get(f"/analytics/?{query}")
    overview = response.context["overview"]
    assert (overview.period.start, overview.period.end) == (date(2026, 11, 1), date(2026, 11, 30))
    assert (overview.period.previous.start, overview.period.previous.end) == (
        date(2026, 10, 1),
        date(2026, 10, 31),
    )
    assert overview.current.count == 8 and overview.previous.count == 2
    assert "vs Oct 1–31" in response.content.decode()


@pytest.mark.parametrize(
    ("start", "end", "before", "label"),
    [
        # Cut at the end of a short month; a whole month against the whole month before.
        (date(2027, 3, 1), date(2027, 3, 30), (date(2027, 2, 1), date(2027, 2, 28)), "Feb 1–28"),
        (date(2028, 3, 1), date(2028, 3, 30), (date(2028, 2, 1), date(2028, 2, 29)), "Feb 1–29"),
        (date(2027, 3, 1), date(2027, 3, 31), (date(2027, 2, 1), date(2027, 2, 28)), "Feb 1–28"),
        (date(2027, 2, 1), date(2027, 2, 28), (date(2027, 1, 1), date(2027, 1, 31)), "Jan 1–31"),
        (date(2027, 1, 1), date(2027, 1, 7), (date(2026, 12, 1), date(2026, 12, 7)), "Dec 1–7, 2026"),
    ],
)
def test_this_month_so_far_and_whole_months_each_have_their_comparison(start, end, before, label):
    period = Period.month("month", end) if start.day == 1 and end.month == start.month else None
    assert period is not None and (period.start, period.end) == (start, end)
    assert (period.previous.start, period.previous.end) == before
    assert period.compared_with == label
    # A range typed in for the same days gets the same comparison.
    assert Period.custom(start, end, end).previous == period.previous


def test_rolling_periods_still_compare_with_the_days_just_before():
    # Dec 1–7 as "last 7 days" is a rolling period even though it starts on the 1st.
    period = Period.last(7, date(2026, 12, 7))
    assert (period.previous.start, period.previous.end) == (date(2026, 11, 24), date(2026, 11, 30))
    assert period.compared_with == "Nov 24–30"
    custom = Period.custom(date(2026, 11, 24), date(2026, 12, 7), date(2026, 12, 7))
    assert (custom.previous.start, custom.previous.end) == (date(2026, 11, 10), date(2026, 11, 23))
