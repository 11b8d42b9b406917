import pytest

from dashboard.analytics import template_summaries
from dashboard.marketplace import services
from tests.conftest import client_for, element_by_id
from tests.marketplace.conftest import figure, post, runs_of


def test_it_shows_everything_about_a_template(acme_admin, make_template):
    template = make_template("acme", state="approved", tags=["support", "triage"])
    html = acme_admin.get(f"/templates/{template.template_id}/").content.decode()
    for text in (
        template.name,
        "Answers customer questions",
        "Customer support",
        "acme",
        "triage",
        "admin@acme.test",
        "approved",
        "submitted for review",
    ):
        assert text in html
    assert 'id="usage-count">0<' in html
    assert "no ratings yet" in html


def test_it_draws_the_flow_and_lists_nodes_and_edges_in_order(acme_admin, make_template):
    template = make_template("acme")
    html = acme_admin.get(f"/templates/{template.template_id}/").content.decode()
    assert html.count('class="flow-node node-') == 4
    assert html.count('class="flow-edge"') == 3
    nodes_table = html[html.index('id="flow-nodes"') : html.index('id="flow-edges"')]
    positions = [nodes_table.index(label) for label in ("Question", "Find passages", "Answer", "Reply")]
    assert positions == sorted(positions)
    assert "retriever" in nodes_table


def test_the_author_sees_why_a_template_was_rejected(acme_admin, make_template):
    template = make_template("acme", state="rejected")
    html = acme_admin.get(f"/templates/{template.template_id}/").content.decode()
    assert "Rejected by moderation" in html and "Needs a clearer description." in html


def test_it_refuses_another_tenants_private_template(globex_admin, make_template):
    template = make_template("acme", state="draft")
    assert globex_admin.get(f"/templates/{template.template_id}/").status_code == 404


def test_another_tenant_reads_a_public_template_but_cannot_change_it(globex_admin, make_template):
    template = make_template("acme", state="approved")
    html = globex_admin.get(f"/templates/{template.template_id}/").content.decode()
    assert template.name in html
    assert f"/templates/{template.template_id}/edit/" not in html
    assert globex_admin.get(f"/templates/{template.template_id}/edit/").status_code == 403


@pytest.mark.parametrize("template_id", ["tpl_missing", "x" * 300, "a%20b"])
def test_an_unknown_id_is_a_404_page(acme_admin, template_id):
    assert acme_admin.get(f"/templates/{template_id}/").status_code == 404


def test_a_moderator_sees_submitted_templates_but_no_drafts_and_no_costs(moderator, make_template):
    pending = make_template("globex", state="pending")
    draft = make_template("globex", state="draft")
    html = element_by_id(moderator.get(f"/templates/{pending.template_id}/").content.decode(), "content")
    # The one cost section is the public one every viewer sees: figures across 3+ tenants, never a tenant's.
    html = html.replace(element_by_id(html, "template-costs") or "", "")
    assert "Approve" in html and "$" not in html and "cost" not in html.lower()
    assert moderator.get(f"/templates/{draft.template_id}/").status_code == 404


def test_staff_open_any_tenants_private_template(people, make_template):
    template = make_template("globex", state="draft")
    assert client_for(people["staff"]).get(f"/templates/{template.template_id}/").status_code == 200


def test_the_moderation_history_lists_each_decision(acme_admin, make_template, scopes):
    template = make_template("acme", state="approved")
    services.moderate(scopes["moderator"], template.template_id, "feature")
    html = acme_admin.get(f"/templates/{template.template_id}/").content.decode()
    history = html[html.index('class="history"') :]
    assert history.index("featured") < history.index("approved") < history.index("submitted for review")
    assert "Mo Derator" in history and "moderator@diatonic.test" not in history  # names, not emails


def test_the_template_page_shows_the_same_figures(acme_admin, used):
    template, use = used
    for kit, flow in use(3):
        post(kit, runs_of(flow, [4_000, 4_100], failed=1))
    template_summaries.rebuild()
    detail = acme_admin.get(f"/templates/{template.template_id}/").content.decode()
    assert figure(detail, "runs") == "6" and figure(detail, "success") == "50.0%"
    assert figure(detail, "tenants") == "3"
