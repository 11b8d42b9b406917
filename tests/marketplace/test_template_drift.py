"""A listed template whose runs worsen sharply over a week returns to the moderation queue, the figures
its reason, and its author reads why (issue #28 §3; thresholds in dashboard.analytics.template_costs)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dashboard.analytics import template_summaries
from dashboard.marketplace import queries, services
from tests.analytics.conftest import make_tenant, run
from tests.marketplace.conftest import make_flow, post


def week_of_runs(flow_id: str, days_ago: int, count: int, failed: int, cost: int) -> list[dict]:
    return [
        run(
            flow_id=flow_id,
            cost_micro_usd=cost,
            status="failed" if index < failed else "succeeded",
            ago=timedelta(days=days_ago, minutes=index),
        )
        for index in range(count)
    ]


@pytest.fixture
def three_tenants(people, make_template):
    template = make_template("acme", state="approved")
    kits = [make_tenant(people) for _ in range(3)]
    return template, [(kit, make_flow(kit.tenant_id, template.template_id)) for kit in kits]


def test_a_template_whose_success_rate_falls_sharply_returns_to_the_queue_with_its_figures(
    three_tenants, scopes, acme_admin
):
    template, users = three_tenants
    for kit, flow in users:
        post(kit, week_of_runs(flow, days_ago=9, count=12, failed=0, cost=1_000))
        post(kit, week_of_runs(flow, days_ago=2, count=12, failed=6, cost=1_000))
    stats = template_summaries.rebuild()
    assert template.template_id in stats.returned
    back = queries.get_template(scopes["moderator"], template.template_id)
    assert back.moderation_status == "pending" and not back.is_listed
    reason = back.moderation_history[-1].reason
    assert "success rate fell from 100.0% to 50.0%" in reason and "3 tenants" in reason
    # The author reads why on the template's page.
    page = acme_admin.get(f"/templates/{template.template_id}/").content.decode()
    assert "success rate fell from 100.0% to 50.0%" in page

    # Approved again by a moderator, it is not sent back by the next passes of the week.
    services.moderate(scopes["moderator"], template.template_id, "approve")
    assert template.template_id not in template_summaries.rebuild().returned
    assert queries.get_template(scopes["moderator"], template.template_id).is_listed


def test_a_template_whose_cost_per_run_rises_sharply_returns_to_the_queue(three_tenants, scopes):
    template, users = three_tenants
    for kit, flow in users:
        post(kit, week_of_runs(flow, days_ago=10, count=11, failed=0, cost=1_000))
        post(kit, week_of_runs(flow, days_ago=1, count=11, failed=0, cost=1_600))
    template_summaries.rebuild()
    back = queries.get_template(scopes["moderator"], template.template_id)
    assert back.moderation_status == "pending"
    assert "cost per run rose from $0.0010 to $0.0016 (60% more)" in back.moderation_history[-1].reason


def test_a_template_that_worsens_only_a_little_stays_listed(three_tenants, scopes):
    template, users = three_tenants
    for kit, flow in users:
        post(kit, week_of_runs(flow, days_ago=9, count=12, failed=1, cost=1_000))
        post(kit, week_of_runs(flow, days_ago=2, count=12, failed=2, cost=1_200))
    assert template.template_id not in template_summaries.rebuild().returned
    assert queries.get_template(scopes["moderator"], template.template_id).is_listed
