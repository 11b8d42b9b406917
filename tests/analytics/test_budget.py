"""Monthly budgets: the forecast, the warnings on the overview, and setting one safely."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from dashboard.accounts.models import Tenant
from dashboard.analytics import rollups
from dashboard.analytics.models import ExecutionRollup
from dashboard.analytics.queries import budget_status, forecast
from dashboard.audit.models import AuditEvent
from tests.analytics.conftest import run, slug
from tests.conftest import client_for

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # 21.5 days of March left


def _daily_cost(tenant_id: str, costs: dict[date, int]) -> None:
    for day, cost in costs.items():
        ExecutionRollup(
            rollups.pk(tenant_id, "total"), rollups.sk(day.isoformat(), "all"), count=1, cost_micro_usd=cost
        ).save()


def test_forecast_is_month_to_date_plus_the_last_7_days_rate_for_the_rest_of_the_month():
    projected, rate = forecast(month_to_date=5_000_000, last_days_spend=7_000_000, now=NOW)
    assert rate == 1_000_000
    assert projected == 5_000_000 + 21_500_000


def test_forecast_rounds_half_up_to_a_micro_dollar():
    end_of_month = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)  # half a day left
    assert forecast(0, 7, end_of_month) == (1, 1)  # 0.5 µUSD → 1


def test_status_reads_month_to_date_and_the_week_before_today(tenant):
    costs = {date(2026, 3, day): 1_000_000 for day in range(1, 11)}  # $1 a day in March
    costs.update({date(2026, 2, 28): 2_000_000, date(2026, 2, 27): 5_000_000, date(2026, 2, 20): 9_000_000})
    _daily_cost(tenant.tenant_id, costs)
    status = budget_status(tenant.tenant_id, 40_000_000, NOW)
    assert status.month_to_date_micro_usd == 10_000_000  # March 1–10, today included
    # Last 7 complete days = March 3–9: $7 → $1/day; 21.5 days left.
    assert status.daily_rate_micro_usd == 1_000_000
    assert status.forecast_micro_usd == 10_000_000 + 21_500_000
    assert status.state == "ok"
    assert budget_status(tenant.tenant_id, 30_000_000, NOW).state == "forecast_over"
    assert budget_status(tenant.tenant_id, 9_000_000, NOW).state == "over"
    assert budget_status(tenant.tenant_id, None, NOW).state == "none"


def _set(client, amount: str, version, tenant_id: str = "", htmx: bool = False):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return client.post(
        "/analytics/budget/", {"budget": amount, "version": version, "tenant": tenant_id}, **headers
    )


def test_a_tenant_admin_sets_a_budget_and_it_is_audited(tenant):
    version = Tenant.get(tenant.tenant_id).version
    response = _set(tenant.client, "1250.50", version)
    assert response.status_code == 302
    stored = Tenant.get(tenant.tenant_id)
    assert stored.monthly_budget_micro_usd == 1_250_500_000
    assert stored.version == version + 1
    [event] = [e for e in AuditEvent.query(tenant.tenant_id) if e.action == "budget.set"]
    assert event.actor_id == tenant.admin.user_id
    assert event.changes == {"monthly_budget_micro_usd": [None, 1_250_500_000]}
    assert "$1,250.50" in tenant.client.get("/analytics/").content.decode()


def test_an_empty_amount_removes_the_budget(tenant):
    _set(tenant.client, "10", Tenant.get(tenant.tenant_id).version)
    _set(tenant.client, "", Tenant.get(tenant.tenant_id).version)
    assert Tenant.get(tenant.tenant_id).monthly_budget_micro_usd is None


def test_a_stale_form_loses_with_a_clear_conflict_message(tenant):
    stale = Tenant.get(tenant.tenant_id).version
    _set(tenant.client, "100", stale)
    response = _set(tenant.client, "200", stale, htmx=True)
    html = response.content.decode()
    assert "Someone else changed this budget meanwhile (it is now $100.00)" in html
    assert Tenant.get(tenant.tenant_id).monthly_budget_micro_usd == 100_000_000


def test_a_bad_amount_is_shown_inline_and_nothing_changes(tenant):
    response = _set(tenant.client, "-5", Tenant.get(tenant.tenant_id).version, htmx=True)
    # An error partial answers 422; the base layout tells htmx to swap 409/422 answers.
    assert response.status_code == 422
    html = response.content.decode()
    assert "field-error" in html and "<html" not in html
    assert Tenant.get(tenant.tenant_id).monthly_budget_micro_usd is None


def test_the_overview_warns_when_spend_crosses_the_budget(tenant):
    tenant.post(slug("agent"), run(model="gpt-4o", tokens_in=400_000, tokens_out=0, ago=timedelta(minutes=5)))
    _set(tenant.client, "0.50", Tenant.get(tenant.tenant_id).version)  # spend today: $1.00
    html = tenant.client.get("/analytics/").content.decode()
    assert "Over budget" in html
    assert 'class="card budget budget-over"' in html


def test_a_tenant_admin_cannot_set_another_tenants_budget(tenant_factory):
    mine, theirs = tenant_factory(), tenant_factory()
    response = _set(mine.client, "10", Tenant.get(theirs.tenant_id).version, tenant_id=theirs.tenant_id)
    assert response.status_code == 404
    assert Tenant.get(theirs.tenant_id).monthly_budget_micro_usd is None


def test_moderators_cannot_set_budgets(moderator, tenant):
    assert _set(moderator, "10", 1, tenant_id=tenant.tenant_id).status_code == 403


def test_staff_set_a_budget_for_the_tenant_they_open(people, tenant):
    staff = client_for(people["staff"])
    response = _set(staff, "75", Tenant.get(tenant.tenant_id).version, tenant_id=tenant.tenant_id)
    assert response.status_code == 302
    assert Tenant.get(tenant.tenant_id).monthly_budget_micro_usd == 75_000_000


@pytest.mark.parametrize("amount", ["abc", "1.234"])
def test_amounts_are_dollars_and_cents(tenant, amount):
    response = _set(tenant.client, amount, Tenant.get(tenant.tenant_id).version, htmx=True)
    assert "field-error" in response.content.decode()
