"""Why did spend change: previous cost and change per row, sorting, drivers summing to the change,
names of dashboard users, calendar months, and the same figures in the JSON API and the CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from tests.analytics.conftest import run, slug


def _load(tenant):
    up, down, new = slug("up"), slug("down"), slug("new")
    before, now = timedelta(days=10), timedelta(days=2)
    posts = {
        up: [run(f"u-old-{n}", ago=before) for n in range(2)] + [run(f"u-{n}", ago=now, model="gpt-4o") for n in range(3)],
        down: [run(f"d-old-{n}", ago=before, model="gpt-4o") for n in range(4)] + [run("d-1", ago=now, model="gpt-4o")],
        new: [run("n-1", ago=now, user_id=tenant.admin.user_id, tokens_in=5_000)],
    }  # fmt: skip
    for agent, runs in posts.items():
        assert tenant.post(agent, {"runs": runs})[0] == 201
    return up, down, new


def test_rows_carry_previous_cost_and_change_and_drivers_sum_to_the_total_change(tenant):
    up, down, new = _load(tenant)
    status, body = tenant.get("/api/analytics/execution", period="7")
    assert status == 200
    agents = {row["value"]: row for row in body["top_agents"]}
    assert agents[up]["previous"]["executions"] == 2 and agents[up]["executions"] == 3
    assert (
        agents[up]["cost_change_micro_usd"]
        == agents[up]["cost_micro_usd"] - agents[up]["previous"]["cost_micro_usd"]
    )
    assert agents[down]["cost_change_micro_usd"] < 0
    drivers = body["drivers"]
    total_change = body["current"]["cost_micro_usd"] - body["previous"]["cost_micro_usd"]
    assert drivers["cost_change_micro_usd"] == total_change
    assert sum(d["cost_change_micro_usd"] for d in drivers["contributions"]) == total_change
    for d in drivers["contributions"]:
        if not d["other"]:
            assert (
                d["volume_effect_micro_usd"] + d["unit_cost_effect_micro_usd"] == d["cost_change_micro_usd"]
            )
    by_agent = {d["value"]: d for d in drivers["contributions"]}
    assert by_agent[new]["volume_effect_micro_usd"] == by_agent[new]["cost_change_micro_usd"]  # all new runs
    assert by_agent[up]["unit_cost_effect_micro_usd"] > 0  # a pricier model now
    # Users: a dashboard user is shown by name.
    [named] = [row for row in body["top_users"] if row["value"] == tenant.admin.user_id]
    assert named["name"] == tenant.admin.name


def test_the_page_sorts_by_change_and_names_dashboard_users(tenant):
    up, down, new = _load(tenant)
    page = tenant.client.get("/analytics/?period=7&sort=change")
    rows = [row.value for row in page.context["overview"].top_agents]
    assert rows[-1] == down and rows[0] in (up, new)
    changes = [row.cost_change for row in page.context["overview"].top_agents]
    assert changes == sorted(changes, reverse=True)
    html = page.content.decode()
    assert tenant.admin.name in html
    assert "Why did spend change?" in html
    by_runs = [
        row.totals.count
        for row in tenant.client.get("/analytics/?period=7&sort=runs").context["overview"].top_agents
    ]
    assert by_runs == sorted(by_runs, reverse=True)


def test_the_csv_carries_previous_cost_change_and_drivers(tenant):
    up, down, new = _load(tenant)
    response = tenant.client.get("/analytics/export.csv?period=7")
    table = list(csv.DictReader(io.StringIO(response.content.decode())))
    [row] = [r for r in table if r["section"] == "top_agent" and r["key"] == down]
    assert (
        int(row["cost_change_micro_usd"])
        == int(row["cost_micro_usd"]) - int(row["previous_cost_micro_usd"])
        < 0
    )
    drivers = [r for r in table if r["section"] == "driver_agent"]
    assert sum(int(r["cost_change_micro_usd"]) for r in drivers) == sum(
        int(r["cost_micro_usd"]) - int(r["previous_cost_micro_usd"]) for r in drivers
    )


def test_calendar_months_compare_with_the_previous_calendar_month(tenant):
    page = tenant.client.get("/analytics/?period=last-month")
    period = page.context["overview"].period
    assert period.start.day == 1 and (period.end + timedelta(days=1)).day == 1
    assert period.previous.start.day == 1 and period.previous.end == period.start - timedelta(days=1)
    this = tenant.client.get("/analytics/?period=month").context["overview"].period
    # This month so far: the same days of the previous month (cut at its end), all of it once whole.
    last = this.start - timedelta(days=1)
    end = last.replace(day=min(this.end.day, last.day)) if this.month_so_far else last
    assert this.start.day == 1 and (this.previous.start, this.previous.end) == (last.replace(day=1), end)
    assert tenant.client.get("/analytics/?period=eleven").context["period_error"] is not None
