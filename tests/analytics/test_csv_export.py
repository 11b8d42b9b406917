"""CSV export of the overview's figures (/analytics/export.csv)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from tests.analytics.conftest import run, slug
from tests.conftest import client_for


def _rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_it_exports_the_same_figures_as_the_page(tenant):
    agent = slug("agent")
    tenant.post(agent, run("a", model="gpt-4o", ago=timedelta(days=1)))
    tenant.post(agent, run("b", model="gpt-4o-mini", ago=timedelta(days=1), status="timeout"))
    response = tenant.client.get("/analytics/export.csv?period=7")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f"costs-{tenant.tenant_id}-" in response["Content-Disposition"]
    rows = _rows(response)
    period = next(row for row in rows if row["section"] == "period")
    assert (period["executions"], period["failures"], period["cost_micro_usd"]) == ("2", "1", "7950")
    assert period["cost_usd"] == "0.007950"
    agents = [row for row in rows if row["section"] == "top_agent"]
    assert [(row["key"], row["cost_micro_usd"], row["share"]) for row in agents] == [
        (agent, "7950", "1.000000")
    ]
    models = {row["key"]: row["cost_micro_usd"] for row in rows if row["section"] == "top_model"}
    assert models == {"gpt-4o": "7500", "gpt-4o-mini": "450"}
    assert [row["key"] for row in rows if row["section"] == "failures_by_status"] == ["timeout"]
    daily = [row for row in rows if row["section"] == "daily_cost"]
    assert sum(int(row["cost_micro_usd"]) for row in daily) == 7950
    assert {row["key"] for row in rows if row["section"] == "budget"} == {
        "monthly_budget",
        "month_to_date",
        "forecast_month_end",
    }


def test_a_tenant_admin_cannot_export_another_tenant(tenant_factory):
    mine, theirs = tenant_factory(), tenant_factory()
    theirs.post(slug("agent"), run())
    assert mine.client.get(f"/analytics/export.csv?tenant={theirs.tenant_id}").status_code == 404
    rows = _rows(mine.client.get("/analytics/export.csv?period=90"))
    assert next(row for row in rows if row["section"] == "period")["executions"] == "0"


def test_staff_export_lists_every_tenant(people, tenant):
    tenant.post(slug("agent"), run())
    rows = _rows(client_for(people["staff"]).get("/analytics/export.csv?period=7"))
    assert tenant.tenant_id in {row["key"] for row in rows if row["section"] == "tenant"}


def test_a_bad_period_is_a_clear_error_not_a_crash(tenant):
    response = tenant.client.get("/analytics/export.csv?start=2020-05-01&end=2020-01-01")
    assert response.status_code == 422
    assert "That date range is not valid." in response.content.decode()


def test_moderators_cannot_export(moderator):
    assert moderator.get("/analytics/export.csv").status_code == 403
