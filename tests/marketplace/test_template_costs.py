"""What a template costs, before you adopt it: the cards, the template page and the moderation queue show
the last 30 days of every tenant's runs of flows made from it (issue #28 §3), only from 3 tenants up.

Figures are checked against a recomputation from the raw executions: runs, success rate and tenants
exactly; the median within the cost histogram's resolution (template_costs: the shown figure is the
geometric middle of the bucket holding the lower median run, so it lies within that bucket's range,
~19 % wide, and within 10 % of the true lower median)."""

from __future__ import annotations

import json
from datetime import timedelta

from django.test import Client

from dashboard.analytics import services as analytics
from dashboard.analytics import template_costs, template_summaries
from dashboard.analytics.models import Execution, ExecutionRollup
from dashboard.core import clock
from dashboard.core.clock import iso_ms
from dashboard.core.ids import new_id
from dashboard.dynamo import metrics
from tests.analytics.conftest import run
from tests.marketplace.conftest import card_of, figure, make_flow, post, runs_of

NOT_ENOUGH = "not enough usage yet"


def raw_runs(tenant_ids: list[str], template_id: str) -> list[Execution]:
    found = []
    for tenant_id in tenant_ids:
        found += [e for e in Execution.by_tenant.query(tenant_id) if e.template_id == template_id]
    return found


def browse(client: Client, template) -> str:
    response = client.get("/templates/", {"q": template.name.split()[-1]})
    assert response.status_code == 200
    return response.content.decode()


def test_cards_show_figures_equal_to_a_recomputation_from_the_raw_executions(acme_admin, used):
    template, use = used
    (a, flow_a), (b, flow_b), (c, flow_c) = use(3)
    post(a, runs_of(flow_a, [1_200, 1_500, 90_000, 400], failed=1))
    post(b, runs_of(flow_b, [2_000, 2_100], failed=0))
    # The third tenant's runs arrive through the importer.
    now = clock.now()
    lines = [
        json.dumps({"agent_id": "importer", **body})
        for body in runs_of(flow_c, [3_000, 800, 5_500], failed=2)
    ]
    parsed = [analytics.parse_import_line(c.tenant_id, line, now)[0] for line in lines]
    assert analytics.import_stream(parsed).recorded == 3
    # A flow of its own, not made from a template, adds nothing.
    post(a, runs_of(make_flow(a.tenant_id, None), [77_000]))
    template_summaries.rebuild()

    card = card_of(browse(acme_admin, template), template.template_id)
    raw = raw_runs([a.tenant_id, b.tenant_id, c.tenant_id], template.template_id)
    assert len(raw) == 9
    assert figure(card, "runs") == "9"
    successes = sum(e.status == "succeeded" for e in raw)
    assert figure(card, "success") == f"{round(successes / 9 * 100, 1)}%"
    assert figure(card, "tenants") == "3"
    true_median = template_costs.lower_median(int(e.cost_micro_usd) for e in raw)
    index = template_costs.bucket_index(true_median)
    low, high = template_costs.bucket_range(index)
    shown = template_costs.bucket_value(index)
    assert low < shown <= high and abs(shown - true_median) <= 0.1 * true_median
    from dashboard.core.money import money

    assert figure(card, "median") == money(shown)


def test_the_same_runs_sent_again_and_imported_again_count_once(acme_admin, used):
    template, use = used
    kits = use(3)
    bodies = {kit.tenant_id: runs_of(flow, [1_000, 2_000]) for kit, flow in kits}
    for _ in range(2):
        for kit, _flow in kits:
            post(kit, bodies[kit.tenant_id])
    now = clock.now()
    kit, flow = kits[0]
    line = json.dumps({"agent_id": "agent-1", **bodies[kit.tenant_id][0]})  # an id the API recorded
    assert analytics.import_stream([analytics.parse_import_line(kit.tenant_id, line, now)[0]]).recorded == 0
    template_summaries.rebuild()
    card = card_of(browse(acme_admin, template), template.template_id)
    assert figure(card, "runs") == "6"
    assert figure(card, "tenants") == "3"


def test_figures_are_hidden_with_two_tenants_and_shown_with_three(acme_admin, used):
    template, use = used
    (a, flow_a), (b, flow_b) = use(2)
    post(a, runs_of(flow_a, [1_000] * 5))
    post(b, runs_of(flow_b, [9_000]))
    template_summaries.rebuild()
    card = card_of(browse(acme_admin, template), template.template_id)
    assert NOT_ENOUGH in card and "tpl-cost-runs" not in card

    [(c, flow_c)] = use(1)
    post(c, runs_of(flow_c, [2_000]))
    template_summaries.rebuild()
    card = card_of(browse(acme_admin, template), template.template_id)
    assert NOT_ENOUGH not in card and figure(card, "runs") == "7"


def test_a_tenant_cannot_derive_another_tenants_figures(used):
    """With two tenants, one knowing its own runs could subtract them from a total: nothing is kept to
    subtract from. With three, what is kept is the sum of all three and names none of them."""
    template, use = used
    (a, flow_a), (b, flow_b) = use(2)
    post(a, runs_of(flow_a, [1_000, 1_000]))
    post(b, runs_of(flow_b, [5_000]))
    template_summaries.rebuild()
    item = ExecutionRollup.get(template_costs.SUMMARY_PK, template.template_id)
    kept = json.loads(item.figures)
    assert kept["enough"] is False and kept["runs"] == kept["tenants"] == kept["median_cost_micro_usd"] == 0
    page = browse(a.client, template)  # tenant a's own view
    card = card_of(page, template.template_id)
    assert NOT_ENOUGH in card and b.tenant_id not in page

    [(c, flow_c)] = use(1)
    post(c, runs_of(flow_c, [3_000]))
    template_summaries.rebuild()
    kept = json.loads(ExecutionRollup.get(template_costs.SUMMARY_PK, template.template_id).figures)
    assert set(kept) == {"enough", "runs", "success_rate", "median_cost_micro_usd", "tenants", "start", "end"}
    page = browse(a.client, template)
    assert b.tenant_id not in page and c.tenant_id not in page


def test_the_list_page_reads_every_cards_figures_in_one_call(acme_admin, used, make_template):
    template, use = used
    kits = use(3)
    for kit, flow in kits:
        post(kit, runs_of(flow, [1_000]))
    template_summaries.rebuild()
    tag = new_id("w")[-8:].lower()
    for _ in range(5):
        make_template("globex", state="approved", name=f"Costed {tag}")

    def calls(query: str) -> int:
        with metrics.track() as stats:
            response = acme_admin.get("/templates/", {"q": query})
        assert response.status_code == 200
        return stats.calls

    one_card, many_cards = calls(template.name.split()[-1]), calls(tag)
    assert one_card == many_cards  # whatever the number of cards
    # Every card's figures: one BatchGetItem (staff's tenant list aside, the page made 5 calls before).
    assert one_card == 6


def test_runs_older_than_thirty_days_leave_the_figures(acme_admin, used):
    template, use = used
    kits = use(3)
    for kit, flow in kits:
        post(
            kit,
            [run(flow_id=flow, cost_micro_usd=1_000, started_at=iso_ms(clock.now() - timedelta(days=31)))],
        )
    template_summaries.rebuild()
    assert NOT_ENOUGH in card_of(browse(acme_admin, template), template.template_id)


def template_rows(template_id: str, day: str) -> tuple[int, int, set[str]]:
    """(runs, cost, tenants) of the template's rows of one day, shards summed."""
    window = template_costs.Window()
    for row in ExecutionRollup.query(
        template_costs.day_pk(day, template_id), ExecutionRollup.sk.startswith(template_id)
    ):
        window.runs += int(row.count or 0)
        window.cost_micro_usd += int(row.cost_micro_usd or 0)
        window.tenants |= set(row.tenants or ())
    return window.runs, window.cost_micro_usd, window.tenants


def test_a_writer_stopped_between_storing_and_counting_adds_to_the_template_once(used):
    """The execution and its guard landed, the counters did not: the retry counts the template row
    with the tenant's rows, once, from the stored execution (which names its template)."""
    template, use = used
    [(kit, flow)] = use(1)
    body = run(new_id("exe"), flow_id=flow, cost_micro_usd=2_500)
    execution, errors = analytics.validate_run(kit.tenant_id, "agent-1", body, clock.now())
    assert errors == {}
    analytics.stamp_templates([execution])
    analytics._claim([execution], "c" * 32)  # step 1 only, then the writer died
    day = body["started_at"][:10]
    assert template_rows(template.template_id, day) == (0, 0, set())
    for _ in range(2):
        post(kit, [body])
    assert template_rows(template.template_id, day) == (1, 2_500, {template_costs.tenant_mark(kit.tenant_id)})


def test_a_guard_from_before_batch_markers_adds_to_the_template_once(used):
    """Counted by the guard's own flag (the older path, PynamoDB's updates): the tenants set is ADDed."""
    template, use = used
    [(kit, flow)] = use(1)
    body = run(new_id("exe"), flow_id=flow, cost_micro_usd=3_000)
    execution, _ = analytics.validate_run(kit.tenant_id, "agent-1", body, clock.now())
    analytics.stamp_templates([execution])
    execution.save()
    ExecutionRollup(
        *analytics.guard_key(kit.tenant_id, execution.execution_id),
        tenant_id=kit.tenant_id,
        ref=f"{execution.agent_key}|{execution.sk}",
    ).save()
    for _ in range(2):
        post(kit, [body])
    assert template_rows(template.template_id, body["started_at"][:10]) == (
        1,
        3_000,
        {template_costs.tenant_mark(kit.tenant_id)},
    )


def test_todays_runs_join_the_figures_with_tomorrows_build_not_minute_by_minute(acme_admin, used):
    """A summary rebuilt every few minutes would show, by difference, what the others ran meanwhile:
    it sums whole days, once a day."""
    template, use = used
    for kit, flow in use(3):
        post(kit, [run(flow_id=flow, cost_micro_usd=1_000, ago=timedelta(minutes=5))])
    template_summaries.rebuild()
    assert NOT_ENOUGH in card_of(browse(acme_admin, template), template.template_id)
    assert template_summaries.run_pass() is None  # built today already: nothing until tomorrow
    template_summaries.rebuild(clock.now().date() + timedelta(days=1))
    assert figure(card_of(browse(acme_admin, template), template.template_id), "runs") == "3"
