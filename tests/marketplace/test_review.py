"""Moderation at queue speed and the review page (issue 16, item 5)."""

from __future__ import annotations

import copy
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.utils.html import escape

from dashboard.core.errors import Conflict
from dashboard.core.secrets import is_secret_name, mask_text, settings_rows
from dashboard.marketplace import queries, services
from dashboard.marketplace.models import AgentTemplate
from dashboard.marketplace.moderation import CANNED_REASONS
from tests.conftest import element_by_id
from tests.marketplace.conftest import DEFINITION

OPENAI_KEY = "sk-proj-" + "A1b2C3d4" * 4
AWS_KEY = "AKIA" + "ABCDEFGHIJKLMNOP"


def with_settings(**config) -> dict:
    definition = copy.deepcopy(DEFINITION)
    definition["nodes"][2]["config"] = config  # n3, the llm node "Answer"
    return definition


def status(template) -> str:
    return AgentTemplate.get(template.template_id, consistent_read=True).moderation_status


def bulk(client, action, templates, **data):
    picks = [f"{t.template_id}:{t.version}" for t in templates]
    return client.post(
        "/templates/moderation/decide/", {"action": action, "template": picks, **data}, follow=True
    )


# --- several at once ---------------------------------------------------------------------------


def test_a_moderator_approves_three_at_once(moderator, make_template):
    templates = [make_template(owner, state="pending") for owner in ("acme", "globex", "acme")]
    body = bulk(moderator, "approve", templates).content.decode()
    assert "Approved 3 templates:" in body
    assert all(t.name in body for t in templates)
    assert [status(t) for t in templates] == ["approved"] * 3


def test_a_bulk_rejection_without_a_reason_is_refused_and_changes_nothing(moderator, make_template):
    templates = [make_template("acme", state="pending") for _ in range(2)]
    body = bulk(moderator, "reject", templates, reason="  ").content.decode()
    assert "Say why they are rejected" in body and "nothing was changed" in body
    assert [status(t) for t in templates] == ["pending", "pending"]


def test_nothing_selected_is_refused_with_a_message(moderator):
    body = bulk(moderator, "approve", []).content.decode()
    assert "Select the templates to decide first" in body


def test_a_canned_reason_is_the_reason_when_none_is_written(moderator, acme_admin, make_template):
    template = make_template("acme", state="pending")
    bulk(moderator, "reject", [template], canned=CANNED_REASONS[0])
    stored = AgentTemplate.get(template.template_id, consistent_read=True)
    assert stored.moderation_status == "rejected" and stored.rejection_reason == CANNED_REASONS[0]
    assert escape(CANNED_REASONS[0]) in acme_admin.get(f"/templates/{template.template_id}/").content.decode()


def test_an_edited_canned_reason_wins_over_the_choice(moderator, make_template):
    template = make_template("acme", state="pending")
    bulk(
        moderator, "reject", [template], canned=CANNED_REASONS[1], reason=CANNED_REASONS[1] + " Add a README."
    )
    assert AgentTemplate.get(template.template_id).rejection_reason.endswith("Add a README.")


def test_one_changed_since_it_was_seen_is_named_and_the_others_are_decided(moderator, make_template, scopes):
    fresh, edited = make_template("acme", state="pending"), make_template("acme", state="pending")
    services.update_template(
        scopes["acme"],
        edited.template_id,
        {**edited.to_dict(), "description": "Changed meanwhile."},
        edited.version,
    )
    body = bulk(moderator, "approve", [fresh, edited]).content.decode()
    assert "Approved 1 template:" in body
    assert f"Not decided ({edited.template_id})" in body and "changed since you opened it" in body
    assert (status(fresh), status(edited)) == ("approved", "pending")


def test_tenant_admins_cannot_decide_in_bulk(acme_admin, make_template):
    template = make_template("acme", state="pending")
    response = acme_admin.post(
        "/templates/moderation/decide/", {"action": "approve", "template": f"{template.template_id}:1"}
    )
    assert response.status_code == 403 and status(template) == "pending"


def test_the_queue_offers_the_canned_reasons_and_a_checkbox_per_row(moderator, make_template):
    template = make_template("acme", state="pending")
    html = moderator.get("/templates/moderation/").content.decode()
    assert f'value="{template.template_id}:{template.version}" form="bulk-form"' in html
    assert all(escape(reason) in html for reason in CANNED_REASONS)


# --- next in queue and the count in the navigation ----------------------------------------------


def test_a_decision_on_the_review_page_leads_to_the_next_in_queue(moderator, make_template):
    decided, _waiting = make_template("acme", state="pending"), make_template("globex", state="pending")
    response = moderator.post(
        f"/templates/{decided.template_id}/moderate/approve/", {"version": decided.version}
    )
    assert response.status_code == 302
    following = response["Location"]
    assert following.startswith("/templates/tpl_") and decided.template_id not in following
    page = moderator.get(following).content.decode()
    assert "it is listed publicly now. Next in queue:" in page


def test_the_navigation_counts_templates_waiting_and_caps_the_figure(
    moderator, make_template, scopes, monkeypatch
):
    make_template("acme", state="pending"), make_template("globex", state="pending")
    page = moderator.get("/templates/").content.decode()
    assert 'hx-get="/templates/moderation/badge/"' in page
    badge = moderator.get("/templates/moderation/badge/", HTTP_HX_REQUEST="true").content.decode()
    waiting = queries.pending_count(scopes["moderator"])
    assert waiting >= 2
    shown = f"{waiting} waiting" if waiting <= queries.PENDING_CAP else f"{queries.PENDING_CAP}+ waiting"
    assert shown in badge
    monkeypatch.setattr(queries, "PENDING_CAP", 1)
    assert (
        "1+ waiting" in moderator.get("/templates/moderation/badge/", HTTP_HX_REQUEST="true").content.decode()
    )


def test_tenant_admins_get_no_moderation_badge(acme_admin):
    assert "moderation/badge" not in acme_admin.get("/templates/").content.decode()
    assert acme_admin.get("/templates/moderation/badge/").status_code == 403


# --- the review page -----------------------------------------------------------------------------


def test_secret_names_and_credential_shapes_are_recognised():
    assert all(is_secret_name(n) for n in ("api_key", "AUTH_TOKEN", "clientSecret", "x-api-key", "password"))
    assert not any(is_secret_name(n) for n in ("max_tokens", "keyword", "monkey", "model", "top_p"))
    text, found = mask_text(f"Call with {OPENAI_KEY} and {AWS_KEY} please")
    assert found and OPENAI_KEY not in text and AWS_KEY not in text and "sk-••••••" in text
    rows = settings_rows({"model": "gpt-4o", "headers": {"Authorization": f"Bearer {'x' * 20}"}})
    assert [(r.path, r.secret) for r in rows if not r.group] == [
        ("model", False),
        ("headers.Authorization", True),
    ]


def test_the_review_page_shows_each_nodes_settings_and_no_stored_secret(moderator, make_template):
    # Saving strips secrets out of the definition (they become inputs the user supplies, issue 17), so
    # the moderator reviews the settings that remain and sees which ones each user must fill in.
    template = make_template(
        "acme",
        state="pending",
        definition=with_settings(
            provider="openai",
            model="gpt-4o",
            system_prompt=f"You answer refunds. Use {AWS_KEY} for the S3 lookups.",
            api_key=OPENAI_KEY,
        ),
    )
    html = moderator.get(f"/templates/{template.template_id}/").content.decode()
    settings = element_by_id(html, "node-settings")
    assert "gpt-4o" in settings and "openai" in settings
    assert OPENAI_KEY not in html and AWS_KEY not in html  # nowhere on the page, not even the graph
    required = element_by_id(html, "template-inputs")
    assert required.count("required") >= 2


def test_a_resubmission_shows_what_changed_since_the_approved_version(moderator, make_template, scopes):
    template = make_template("acme", state="approved", definition=with_settings(model="gpt-4o"))
    stored = AgentTemplate.get(template.template_id, consistent_read=True)
    assert stored.approved_snapshot["version"] == stored.version
    data = {
        **stored.to_dict(),
        "visibility": "public",
        "definition": with_settings(model="gpt-4o-mini", api_key=OPENAI_KEY),
    }
    services.update_template(scopes["acme"], template.template_id, data, stored.version)
    html = moderator.get(f"/templates/{template.template_id}/").content.decode()
    changes = element_by_id(html, "since-approved")
    assert changes is not None
    assert "node n3 (Answer) · model" in changes and "gpt-4o" in changes and "gpt-4o-mini" in changes
    # The key sent with the edit was stripped before it was stored: it is an input now, not a change.
    assert "api_key" not in changes and OPENAI_KEY not in html


def test_a_first_submission_has_nothing_to_compare_with(moderator, make_template):
    template = make_template("acme", state="pending")
    assert (
        element_by_id(moderator.get(f"/templates/{template.template_id}/").content.decode(), "since-approved")
        is None
    )


# --- ratings and unpublishing ----------------------------------------------------------------------


def test_authors_cannot_rate_their_own_template(acme_admin, make_template):
    template = make_template("acme", state="approved")  # written by the admin of acme
    page = acme_admin.get(f"/templates/{template.template_id}/").content.decode()
    assert "Rate it:" not in page and "You wrote this template" in page
    response = acme_admin.post(f"/templates/{template.template_id}/rate/", {"stars": "5"})
    assert (
        response.status_code == 403 and "authors cannot rate their own templates" in response.content.decode()
    )
    htmx = acme_admin.post(f"/templates/{template.template_id}/rate/", {"stars": "5"}, HTTP_HX_REQUEST="true")
    assert htmx.status_code == 422 and "authors cannot rate" in htmx.content.decode()
    assert AgentTemplate.get(template.template_id, consistent_read=True).rating_count == 0


def test_unpublishing_without_the_confirmation_is_refused(moderator, make_template):
    template = make_template("globex", state="approved")
    body = moderator.post(
        f"/templates/{template.template_id}/moderate/unpublish/", {"version": template.version}, follow=True
    ).content.decode()
    assert "Unpublishing needs confirming first: nothing was changed" in body
    assert status(template) == "approved"


def test_the_unpublish_confirmation_says_what_changes_and_then_unpublishes(moderator, make_template):
    template = make_template("globex", state="approved")
    page = moderator.get(f"/templates/{template.template_id}/unpublish/").content.decode()
    assert f"Unpublish “{template.name}”?" in page and "leaves the public catalogue for every tenant" in page
    row = moderator.get(
        f"/templates/{template.template_id}/unpublish/", {"tab": "listed"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert (
        row.lstrip().startswith(f'<tr id="row-{template.template_id}"')
        and 'name="confirmed" value="1"' in row
    )
    moderator.post(
        f"/templates/{template.template_id}/moderate/unpublish/",
        {"version": template.version, "confirmed": "1", "reason": "Duplicate of the official one."},
    )
    stored = AgentTemplate.get(template.template_id, consistent_read=True)
    assert stored.moderation_status == "unpublished"
    assert stored.moderation_history[-1].reason == "Duplicate of the official one."


# --- two moderators at once ------------------------------------------------------------------------


def test_two_moderators_deciding_the_same_template_at_once_one_wins_the_other_gets_a_conflict(
    make_template, scopes, people
):
    from dashboard.accounts.access import scope_for_user

    template = make_template("acme", state="pending")
    deciders = [scopes["moderator"], scope_for_user(people["staff"])]
    start = threading.Barrier(2)

    def decide(pair):
        scope, action = pair
        start.wait()
        try:
            services.moderate(
                scope, template.template_id, action, reason="Not ready.", expected_version=template.version
            )
            return action
        except Conflict as exc:
            return exc.message

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(decide, zip(deciders, ("approve", "reject"), strict=True)))
    winners = [o for o in outcomes if o in ("approve", "reject")]
    losers = [o for o in outcomes if o not in ("approve", "reject")]
    assert len(winners) == 1 and len(losers) == 1
    assert "another moderator decided" in losers[0]
    expected = "approved" if winners[0] == "approve" else "rejected"
    assert status(template) == expected
    history = AgentTemplate.get(template.template_id, consistent_read=True).moderation_history
    assert [entry.action for entry in history].count(winners[0]) == 1 and len(history) == 3


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_a_decision_on_a_template_already_decided_is_a_clear_conflict(moderator, make_template, action):
    template = make_template("acme", state="approved")
    response = moderator.post(
        f"/templates/{template.template_id}/moderate/{action}/",
        {"version": template.version, "reason": "x"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 409 and "waiting for review" in response.content.decode()
