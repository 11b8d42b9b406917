"""Before a version replaces the one agents call, the request and the confirmation show what the
last 30 days would have cost at the candidate's prices; the figures equal a recomputation from
the executions themselves."""

from datetime import timedelta

from dashboard.accounts.access import scope_for_user
from dashboard.analytics import pricing
from dashboard.analytics.models import Execution
from dashboard.core import clock
from dashboard.registry import queries, services
from tests.analytics.conftest import make_tenant, run
from tests.conftest import client_for
from tests.registry.conftest import make_project, version_data

CURRENT, CANDIDATE = "gpt-4o-mini-2024-07-18", "gpt-4o-2024-08-06"


def recomputed(
    tenant_id: str, model_name: str, was_at: str = CURRENT, will_at: str = CANDIDATE
) -> tuple[int, int, set[str]]:
    """Straight from the stored executions: each agent's tokens of the last 30 days, priced."""
    today = clock.now().date()
    first = (today - timedelta(days=29)).isoformat()
    usage: dict[str, pricing.Usage] = {}
    for item in Execution.by_tenant.query(tenant_id):
        if item.model != model_name or item.started_at[:10] < first:
            continue
        usage[item.agent_id] = usage.get(item.agent_id, pricing.Usage()) + pricing.Usage(
            input=int(item.tokens_in), output=int(item.tokens_out)
        )
    now = clock.now()
    was = sum(pricing.quote(tenant_id, was_at, u, now).cost_micro_usd for u in usage.values())
    will = sum(pricing.quote(tenant_id, will_at, u, now).cost_micro_usd for u in usage.values())
    return was, will, set(usage)


def test_the_request_and_the_confirmation_show_the_recomputed_cost_impact(people):
    kit = make_tenant(people, "Impact tenant")
    staff = scope_for_user(people["staff"], kit.tenant_id)
    project = make_project(kit.tenant_id)
    model, _ = services.register_model(
        staff,
        {
            "name": "support-llm",
            "project_id": project.project_id,
            "task": "generation",
            **version_data("1.0.0", parameters={"serving_model": CURRENT}),
        },
    )
    services.register_version(
        staff, model.model_id, version_data("1.1.0", parameters={"serving_model": CANDIDATE})
    )
    services.change_status(staff, model.model_id, "1.0.0", "deploying", "production", reason="first")
    services.change_status(staff, model.model_id, "1.0.0", "deployed", reason="ok")
    for agent, ago, tokens_in, tokens_out, name in (
        ("support-bot", timedelta(hours=2), 12_000, 3_000, CURRENT),
        ("support-bot", timedelta(days=3), 40_000, 9_000, CURRENT),
        ("triage", timedelta(days=10), 7_000, 1_000, CURRENT),
        ("triage", timedelta(days=45), 900_000, 90_000, CURRENT),  # older than 30 days: not counted
        ("writer", timedelta(days=1), 50_000, 20_000, "claude-3-5-haiku-20241022"),  # another model
    ):
        status, body = kit.post(agent, run(ago=ago, model=name, tokens_in=tokens_in, tokens_out=tokens_out))
        assert status in (200, 201), body
    was, will, agents = recomputed(kit.tenant_id, CURRENT)
    assert agents == {"support-bot", "triage"} and will > was > 0

    plan = queries.plan_change(staff, model.model_id, "1.1.0", "deploying", "production")
    impact = plan.impact
    assert impact["current_micro_usd"] == was and impact["candidate_micro_usd"] == will
    assert impact["change_per_month_micro_usd"] == will - was
    assert {a["agent_id"] for a in impact["agents"]} == agents
    assert impact["new_forecast_micro_usd"] >= impact["forecast_micro_usd"]
    confirm = client_for(people["staff"], _tenant_focus=kit.tenant_id).get(
        f"/models/{model.model_id}/versions/1.1.0/confirm/?status=deploying&environment=production"
    )
    assert (
        "Cost impact" in confirm.content.decode()
        and impact["change_per_month_usd"] in confirm.content.decode()
    )

    services.save_policy(staff, {"protected_environments": ["production"], "requesters": ["tenant_admin"]})
    asked = services.change_status(
        kit.scope, model.model_id, "1.1.0", "deploying", "production", reason="better answers"
    )
    cost = asked.request.evidence["cost"]
    assert (cost["current_micro_usd"], cost["candidate_micro_usd"]) == (was, will)
    assert cost["model_name"] == CURRENT and cost["candidate_model"] == CANDIDATE
    page = kit.client.get("/models/approvals/").content.decode()
    assert "Cost impact" in page and cost["change_per_month_usd"] in page


def test_no_impact_is_shown_when_no_agent_calls_the_model(people):
    kit = make_tenant(people, "Quiet tenant")
    staff = scope_for_user(people["staff"], kit.tenant_id)
    project = make_project(kit.tenant_id)
    model, _ = services.register_model(
        staff, {"name": "quiet", "project_id": project.project_id, **version_data("1.0.0")}
    )
    services.register_version(staff, model.model_id, version_data("1.1.0"))
    services.change_status(staff, model.model_id, "1.0.0", "deploying", "production", reason="first")
    services.change_status(staff, model.model_id, "1.0.0", "deployed", reason="ok")
    assert queries.plan_change(staff, model.model_id, "1.1.0", "deploying", "production").impact is None


def test_a_roll_back_shows_the_restored_versions_prices_recomputed(people):
    """Rolling back 1.1.0 restores 1.0.0: the agents' last 30 days on 1.1.0's model, re-priced at
    1.0.0's, in the confirmation and in the change request, as for a promotion."""
    kit = make_tenant(people, "Rollback tenant")
    staff = scope_for_user(people["staff"], kit.tenant_id)
    project = make_project(kit.tenant_id)
    model, _ = services.register_model(
        staff,
        {
            "name": "support-llm",
            "project_id": project.project_id,
            "task": "generation",
            **version_data("1.0.0", parameters={"serving_model": CURRENT}),
        },
    )
    services.register_version(
        staff, model.model_id, version_data("1.1.0", parameters={"serving_model": CANDIDATE})
    )
    for number in ("1.0.0", "1.1.0"):
        services.change_status(staff, model.model_id, number, "deploying", "production", reason="go")
        services.change_status(staff, model.model_id, number, "deployed", reason="ok")
    for agent, ago, tokens_in, tokens_out in (
        ("support-bot", timedelta(hours=5), 30_000, 8_000),
        ("triage", timedelta(days=6), 11_000, 2_500),
        ("triage", timedelta(days=40), 500_000, 50_000),  # older than 30 days: not counted
    ):
        status, body = kit.post(
            agent, run(ago=ago, model=CANDIDATE, tokens_in=tokens_in, tokens_out=tokens_out)
        )
        assert status in (200, 201), body
    was, will, agents = recomputed(kit.tenant_id, CANDIDATE, was_at=CANDIDATE, will_at=CURRENT)
    assert agents == {"support-bot", "triage"} and was > will > 0  # going back to the cheaper model

    plan = queries.plan_change(staff, model.model_id, "1.1.0", "rolled_back", "production")
    impact = plan.impact
    assert impact is not None, "a roll back restoring 1.0.0 shows its cost impact"
    assert (impact["current_micro_usd"], impact["candidate_micro_usd"]) == (was, will)
    assert impact["change_per_month_micro_usd"] == will - was < 0
    assert impact["model_name"] == CANDIDATE and impact["candidate_model"] == CURRENT
    confirm = client_for(people["staff"], _tenant_focus=kit.tenant_id).get(
        f"/models/{model.model_id}/versions/1.1.0/confirm/?status=rolled_back&environment=production"
    )
    assert impact["change_per_month_usd"] in confirm.content.decode()

    services.save_policy(staff, {"protected_environments": ["production"], "requesters": ["tenant_admin"]})
    asked = services.change_status(
        kit.scope, model.model_id, "1.1.0", "rolled_back", "production", reason="answers got worse"
    )
    evidence = asked.request.evidence
    assert evidence["restores"] == "1.0.0" and evidence["candidate"]["version"] == "1.0.0"
    assert (evidence["cost"]["current_micro_usd"], evidence["cost"]["candidate_micro_usd"]) == (was, will)
    page = kit.client.get("/models/approvals/").content.decode()
    assert "Restores <code>1.0.0</code> in place of <code>1.1.0</code>" in page
    assert evidence["cost"]["change_per_month_usd"] in page
