from concurrent.futures import ThreadPoolExecutor

from dashboard.audit.models import AuditEvent
from dashboard.core.scope import AccessScope
from dashboard.marketplace import services
from dashboard.marketplace.models import AgentTemplate, TemplateRating
from tests.conftest import assert_fragment, unique


def test_a_rating_shows_in_the_average(acme_admin, make_template):
    template = make_template("globex", state="approved")
    response = acme_admin.post(f"/templates/{template.template_id}/rate/", {"stars": "4"})
    assert response.status_code == 302
    html = acme_admin.get(f"/templates/{template.template_id}/").content.decode()
    assert 'id="rating-average">4.0<' in html and 'id="rating-count">1<' in html
    assert "Your rating: 4" in html


def test_rating_again_replaces_the_persons_rating(acme_admin, staff, make_template):
    template = make_template("globex", state="approved")
    staff.post(f"/templates/{template.template_id}/rate/", {"stars": "2"})
    acme_admin.post(f"/templates/{template.template_id}/rate/", {"stars": "5"})
    acme_admin.post(f"/templates/{template.template_id}/rate/", {"stars": "3"})
    stored = AgentTemplate.get(template.template_id)
    assert (stored.rating_sum, stored.rating_count, stored.average_rating) == (5, 2, 2.5)
    assert float(stored.rating_avg) == 2.5


def test_each_rating_goes_to_the_raters_audit_trail(acme_admin, people, make_template):
    template = make_template("globex", state="approved")
    acme_admin.post(f"/templates/{template.template_id}/rate/", {"stars": "2"})
    acme_admin.post(f"/templates/{template.template_id}/rate/", {"stars": "2"})  # unchanged: no event
    acme_admin.post(f"/templates/{template.template_id}/rate/", {"stars": "5"})
    events = [
        e
        for e in AuditEvent.query("acme", scan_index_forward=False, limit=50)
        if e.target_id == template.template_id
    ]
    assert [(e.action, e.changes["stars"]) for e in events] == [
        ("template.rate", "2 → 5"),
        ("template.rate", "2"),
    ]
    assert {e.actor_id for e in events} == {people["admin of acme"].user_id}
    assert "template.rate" in acme_admin.get("/account/audit/").content.decode()


def test_htmx_rating_swaps_the_rating_card(acme_admin, make_template):
    template = make_template("globex", state="approved")
    response = acme_admin.post(
        f"/templates/{template.template_id}/rate/", {"stars": "5"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card" id="rating"')  # the card itself, nothing around it
    assert "Thanks, your rating is saved." in assert_fragment(response, id="rating")


def test_stars_outside_one_to_five_are_refused(acme_admin, make_template):
    template = make_template("globex", state="approved")
    for stars in ("0", "6", "four", ""):
        response = acme_admin.post(
            f"/templates/{template.template_id}/rate/", {"stars": stars}, HTTP_HX_REQUEST="true"
        )
        assert "Give 1 to 5 stars" in response.content.decode()
    assert AgentTemplate.get(template.template_id).rating_count == 0


def test_the_average_stays_consistent_under_concurrent_ratings(make_template):
    template = make_template("acme", state="approved")
    raters = [
        AccessScope(role="tenant_admin", actor_id=unique("usr"), actor_label="rater", tenant_id="acme")
        for _ in range(12)
    ]
    first = [(scope, 1 + i % 5) for i, scope in enumerate(raters)]
    changed = [(scope, 5 - i % 5) for i, scope in enumerate(raters)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(
            pool.map(
                lambda pair: services.rate_template(pair[0], template.template_id, pair[1]), first + changed
            )
        )
    ratings = list(TemplateRating.query(template.template_id, consistent_read=True))
    stored = AgentTemplate.get(template.template_id, consistent_read=True)
    assert stored.rating_count == len(ratings) == 12
    assert stored.rating_sum == sum(r.stars for r in ratings)
    assert float(stored.rating_avg) == round(stored.rating_sum / stored.rating_count, 4)


def test_a_moderator_cannot_rate(moderator, make_template):
    template = make_template("acme", state="approved")
    assert moderator.post(f"/templates/{template.template_id}/rate/", {"stars": "5"}).status_code == 403
