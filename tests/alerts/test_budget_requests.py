"""Budget increase requests (issue #29): a tenant admin asks staff for a higher monthly budget with a
reason; staff approve with an amount or refuse with a reason; the tenant is told; the budget
thresholds re-arm for the new amount; all of it in the audit trail."""

from __future__ import annotations

from datetime import timedelta

from dashboard.accounts.queries import get_tenant
from dashboard.alerts import queries, services
from dashboard.alerts.inputs import RuleInput
from dashboard.analytics.services import set_budget
from dashboard.audit import queries as audit
from tests.alerts.conftest import STAFF_SCOPE, run
from tests.conftest import client_for

RECENT = timedelta(minutes=5)


def budget_firings(tenant_id: str) -> list[str]:
    return sorted(f.key.split("#", 1)[1] for f in queries.recent_firings(tenant_id) if f.kind == "budget")


def test_an_approved_increase_sets_the_budget_tells_the_tenant_and_re_arms_its_thresholds(
    tenant, people, mailoutbox
):
    status, body = tenant.post("probe", run(ago=RECENT))
    assert status == 201
    spent = body["runs"][0]["cost_micro_usd"]
    set_budget(STAFF_SCOPE, tenant.tenant_id, spent * 3 // 2, None)  # 67 % spent
    services.create_rule(tenant.scope, None, RuleInput(name="Budget", kind="budget", thresholds=(50,)))
    tenant.post("probe", run(ago=RECENT, tokens_in=0, tokens_out=0))  # checks the rules: 50 % fires
    assert len(budget_firings(tenant.tenant_id)) == 1

    page = tenant.client.post(
        "/analytics/alerts/budget-requests/ask",
        {"amount": f"{spent * 9 / 5 / 1e6:.6f}", "reason": "Launch week"},
    )
    assert page.status_code == 302
    (asked,) = queries.open_budget_requests(limit=1000) and [
        r for r in queries.open_budget_requests(limit=1000) if r.tenant_id == tenant.tenant_id
    ]
    assert asked.status == "pending" and asked.reason == "Launch week"
    # A second request waits for the first.
    again = tenant.client.post("/analytics/alerts/budget-requests/ask", {"amount": "500", "reason": "More"})
    assert again.status_code == 422 and "already waiting" in again.content.decode()
    # Only staff decide.
    decide = f"/analytics/alerts/budget-requests/{tenant.tenant_id}/{asked.request_id}/decide"
    assert tenant.client.post(decide, {"action": "approve"}).status_code in (403, 404)

    staff = client_for(people["staff"])
    queue = staff.get("/analytics/alerts/budget-requests/").content.decode()
    assert "Launch week" in queue and tenant.tenant_id in queue
    new_budget = spent * 9 // 5  # 56 % spent: over 50 % again
    answer = staff.post(
        decide, {"action": "approve", "amount": f"{new_budget / 1e6:.6f}", "version": asked.version}
    )
    assert answer.status_code == 302
    assert get_tenant(tenant.tenant_id).monthly_budget_micro_usd == new_budget
    decided = queries.budget_request(tenant.tenant_id, asked.request_id)
    assert decided.status == "approved" and decided.open is None
    assert (
        staff.post(decide, {"action": "refuse", "reason": "late", "version": asked.version}).status_code
        == 409
    )

    # The tenant is told: in the dashboard and by e-mail to the admin who asked.
    notes = queries.notifications(tenant.tenant_id).items
    assert any(n.title == "Budget increase approved" for n in notes)
    assert [m.to for m in mailoutbox if "approved" in m.subject] == [[tenant.admin.email]]
    # The thresholds re-arm for the new amount: 50 % of the new budget fires once more.
    tenant.post("probe", run(ago=RECENT, tokens_in=0, tokens_out=0))
    tenant.post("probe", run(ago=RECENT, tokens_in=0, tokens_out=0))
    assert len(budget_firings(tenant.tenant_id)) == 2
    actions = [event.action for event in audit.list_events(tenant.scope)]
    assert {"budget_request.ask", "budget_request.approve", "budget.set"} <= set(actions)


def test_a_refusal_needs_a_reason_and_the_tenant_reads_it(tenant, people, mailoutbox):
    services.ask_budget_increase(tenant.scope, 900_000_000, "Bigger model")
    (asked,) = queries.budget_requests(tenant.tenant_id)
    staff = client_for(people["staff"])
    decide = f"/analytics/alerts/budget-requests/{tenant.tenant_id}/{asked.request_id}/decide"
    refused = staff.post(decide, {"action": "refuse", "reason": ""})
    assert refused.status_code == 422 and "Give a reason" in refused.content.decode()
    assert queries.budget_request(tenant.tenant_id, asked.request_id).status == "pending"
    assert (
        staff.post(decide, {"action": "refuse", "reason": "Use the cheaper model first"}).status_code == 302
    )
    mine = tenant.client.get("/analytics/alerts/budget-requests/").content.decode()
    assert "refused" in mine and "Use the cheaper model first" in mine
    assert any("refused" in m.subject for m in mailoutbox)
    assert "budget_request.refuse" in [event.action for event in audit.list_events(tenant.scope)]


def test_a_request_for_less_than_the_budget_is_refused_inline(tenant):
    set_budget(STAFF_SCOPE, tenant.tenant_id, 100_000_000, None)
    page = tenant.client.post("/analytics/alerts/budget-requests/ask", {"amount": "50", "reason": "Because"})
    assert page.status_code == 422 and "more than the current budget" in page.content.decode()
    assert queries.budget_requests(tenant.tenant_id) == []
