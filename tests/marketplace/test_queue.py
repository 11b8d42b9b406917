import re

from dashboard.analytics import template_summaries
from dashboard.audit.models import AuditEvent
from dashboard.marketplace.models import AgentTemplate
from tests.analytics.conftest import make_tenant
from tests.conftest import client_for, element_by_id
from tests.marketplace.conftest import figure, make_flow, post, runs_of


def queue_ids(html: str) -> list[str]:
    return re.findall(r'<tr id="row-([^"]+)"', html)


def events_for(tenant_id: str, template_id: str) -> list[str]:
    return [
        e.action
        for e in AuditEvent.query(tenant_id, scan_index_forward=False, limit=100)
        if e.target_id == template_id
    ]


def test_the_queue_lists_submitted_templates_oldest_first_with_their_age(moderator, make_template):
    older = make_template("acme", state="pending")
    newer = make_template("globex", state="pending")
    draft = make_template("acme")
    html = moderator.get("/templates/moderation/").content.decode()
    ids = queue_ids(html)
    assert ids.index(older.template_id) < ids.index(newer.template_id)
    assert draft.template_id not in ids
    queue = element_by_id(html, "queue")
    assert "just now" in queue and "$" not in queue  # its age: submitted a moment ago


def test_approving_lists_the_template_and_goes_to_the_audit_trail(moderator, globex_admin, make_template):
    template = make_template("acme", state="pending")
    response = moderator.post(
        f"/templates/{template.template_id}/moderate/approve/",
        {"version": template.version},
        HTTP_HX_REQUEST="true",
    )
    assert "it is listed publicly now" in response.content.decode()
    stored = AgentTemplate.get(template.template_id)
    assert stored.moderation_status == "approved" and stored.is_listed and stored.submitted_at is None
    assert template.template_id in globex_admin.get("/templates/", {"sort": "newest"}).content.decode()
    assert "template.approve" in events_for("acme", template.template_id)


def test_rejecting_needs_a_reason_the_author_then_sees(moderator, acme_admin, make_template):
    template = make_template("acme", state="pending")
    url = f"/templates/{template.template_id}/moderate/reject/"
    response = moderator.post(url, {"version": template.version, "reason": "  "}, HTTP_HX_REQUEST="true")
    assert "Say why it is rejected" in response.content.decode()
    assert AgentTemplate.get(template.template_id).moderation_status == "pending"
    moderator.post(
        url, {"version": template.version, "reason": "Contains a hard-coded API key."}, HTTP_HX_REQUEST="true"
    )
    stored = AgentTemplate.get(template.template_id)
    assert stored.moderation_status == "rejected" and not stored.is_listed
    assert (
        "Contains a hard-coded API key."
        in acme_admin.get(f"/templates/{template.template_id}/").content.decode()
    )
    assert "template.reject" in events_for("acme", template.template_id)


def test_feature_and_unpublish_a_listed_template(moderator, acme_admin, make_template):
    template = make_template("globex", state="approved")
    moderator.post(f"/templates/{template.template_id}/moderate/feature/", {"version": template.version})
    stored = AgentTemplate.get(template.template_id)
    assert stored.featured and stored.featured_listing == "featured"
    html = acme_admin.get("/templates/").content.decode()
    assert template.template_id in html[html.index("tpl-featured-strip") : html.index('id="template-list"')]
    moderator.post(
        f"/templates/{template.template_id}/moderate/unpublish/",
        {"version": stored.version, "confirmed": "1"},
    )
    stored = AgentTemplate.get(template.template_id)
    assert (
        stored.moderation_status == "unpublished" and not stored.is_listed and stored.featured_listing is None
    )
    assert template.template_id not in acme_admin.get("/templates/", {"sort": "newest"}).content.decode()
    assert {"template.feature", "template.unpublish"} <= set(events_for("globex", template.template_id))


def test_a_decision_on_a_version_the_author_changed_since_is_refused(moderator, make_template, scopes):
    from dashboard.marketplace import services

    template = make_template("acme", state="pending")
    seen_version = template.version
    data = {
        **template.to_dict(),
        "visibility": "public",
        "description": "Now with a hidden surprise.",
    }
    services.update_template(scopes["acme"], template.template_id, data, seen_version)
    response = moderator.post(
        f"/templates/{template.template_id}/moderate/approve/",
        {"version": seen_version},
        HTTP_HX_REQUEST="true",
    )
    assert "changed since you opened it" in response.content.decode()
    assert AgentTemplate.get(template.template_id).moderation_status == "pending"


def test_an_approved_template_cannot_be_approved_twice(moderator, make_template):
    template = make_template("acme", state="approved")
    response = moderator.post(f"/templates/{template.template_id}/moderate/approve/")
    assert response.status_code == 302
    assert (
        "Only a template waiting for review can be approved"
        in moderator.get(response["Location"]).content.decode()
    )


def test_the_listed_tab_shows_public_templates(moderator, make_template):
    template = make_template("acme", state="approved")
    template.update(actions=[AgentTemplate.usage_count.set(1_000_000)])  # first in most-used order
    html = moderator.get("/templates/moderation/", {"tab": "listed"}).content.decode()
    assert template.template_id in html and "Unpublish" in html


def test_the_rejected_tab_lists_rejections_with_their_reason_until_resubmitted(
    moderator, acme_admin, make_template
):
    template = make_template("acme", state="pending")
    url = f"/templates/{template.template_id}/moderate/reject/"
    moderator.post(url, {"version": template.version, "reason": "Needs a README node."})
    html = moderator.get("/templates/moderation/", {"tab": "rejected"}).content.decode()
    assert template.template_id in queue_ids(html)
    assert "Needs a README node." in html and "by Mo Derator" in html
    assert template.template_id not in queue_ids(moderator.get("/templates/moderation/").content.decode())
    stored = AgentTemplate.get(template.template_id)
    acme_admin.post(f"/templates/{template.template_id}/submit/", {"version": stored.version})
    assert AgentTemplate.get(template.template_id).moderation_status == "pending"
    assert template.template_id in queue_ids(moderator.get("/templates/moderation/").content.decode())
    rejected = moderator.get("/templates/moderation/", {"tab": "rejected"}).content.decode()
    assert template.template_id not in queue_ids(rejected)


def test_tenant_admins_have_no_moderation(acme_admin, make_template):
    template = make_template("acme", state="pending")
    assert acme_admin.get("/templates/moderation/").status_code == 403
    assert acme_admin.get("/templates/moderation/", {"tab": "rejected"}).status_code == 403
    assert acme_admin.post(f"/templates/{template.template_id}/moderate/approve/").status_code == 403
    assert AgentTemplate.get(template.template_id).moderation_status == "pending"


def test_staff_moderate_too(people, make_template):
    template = make_template("globex", state="pending")
    staff = client_for(people["staff"])
    assert template.template_id in staff.get("/templates/moderation/").content.decode()
    staff.post(f"/templates/{template.template_id}/moderate/approve/", {"version": template.version})
    assert AgentTemplate.get(template.template_id).is_listed


def test_an_unknown_action_is_a_404(moderator, make_template):
    template = make_template("acme", state="pending")
    assert moderator.post(f"/templates/{template.template_id}/moderate/destroy/").status_code == 404


def test_moderators_see_the_figures_in_the_queue(people, moderator, make_template):
    """A template back in the queue (here: rejected, the newest first) still has its flows' runs."""
    template = make_template("acme", state="rejected")
    for kit in [make_tenant(people) for _ in range(3)]:
        post(kit, runs_of(make_flow(kit.tenant_id, template.template_id), [4_000, 4_100], failed=1))
    template_summaries.rebuild()
    queue = moderator.get("/templates/moderation/", {"tab": "rejected"}).content.decode()
    row = queue[queue.index(template.template_id) :]
    assert figure(row, "runs") == "6" and figure(row, "tenants") == "3"
