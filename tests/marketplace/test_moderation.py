"""The moderation state machine on its own: in-memory templates, no DynamoDB, no fixtures touching it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dashboard.core.errors import Conflict, NotFound, ValidationFailed
from dashboard.core.scope import API, MODERATOR, STAFF, TENANT_ADMIN, AccessScope
from dashboard.marketplace import moderation
from dashboard.marketplace.models import AgentTemplate, ModerationEntry
from dashboard.marketplace.moderation import MOVES, STATES, actions_for, transition

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ACME = AccessScope(role=TENANT_ADMIN, actor_id="usr_a", actor_label="admin@acme.test", tenant_id="acme")
GLOBEX = AccessScope(role=TENANT_ADMIN, actor_id="usr_g", actor_label="admin@globex.test", tenant_id="globex")
MOD = AccessScope(role=MODERATOR, actor_id="usr_m", actor_label="mo@diatonic.test", tenant_id=None)
STAFF_SCOPE = AccessScope(role=STAFF, actor_id="usr_s", actor_label="staff@diatonic.test", tenant_id=None)


def template(
    status: str = "draft", *, featured: bool = False, visibility: str | None = None
) -> AgentTemplate:
    return AgentTemplate(
        template_id="tpl_1",
        tenant_id="acme",
        name="Support triage",
        category="customer-support",
        visibility=visibility or ("private" if status == "draft" else "public"),
        moderation_status=status,
        featured=featured,
        submitted_at=AT if status in ("pending", "rejected") else None,
        moderation_history=[ModerationEntry(at=AT.isoformat(), by="Ada", action="created", reason="")],
    )


def names(actions) -> list[str]:
    return [action.name for action in actions]


def test_every_state_is_reachable_and_moves_start_from_known_states():
    reached = {"draft", "pending"}  # where `create` puts a template
    for _ in STATES:
        for action, sources in MOVES.items():
            for status in sources:
                if status in reached:
                    reached.add(
                        transition(template(status), action, by="x", at=AT, reason="r").get(
                            "moderation_status", status
                        )
                    )
    assert reached == set(STATES)
    assert all(set(sources) <= set(STATES) for sources in MOVES.values())


@pytest.mark.parametrize(
    ("status", "action", "after"),
    [
        ("pending", "approve", "approved"),
        ("pending", "reject", "rejected"),
        ("approved", "unpublish", "unpublished"),
        ("draft", "submit", "pending"),
        ("rejected", "submit", "pending"),
        ("unpublished", "submit", "pending"),
        ("approved", "withdraw", "draft"),
        ("pending", "withdraw", "draft"),
    ],
)
def test_a_move_changes_the_status_and_records_who_and_why(status, action, after):
    before = template(status)
    changes = transition(
        before, action, by="Mo Derator", at=AT, reason="Needs a README." if action == "reject" else ""
    )
    assert changes["moderation_status"] == after
    last = changes["moderation_history"][-1]
    assert (last.by, last.at) == ("Mo Derator", AT.isoformat())
    assert len(changes["moderation_history"]) == 2
    assert before.moderation_status == status and len(before.moderation_history) == 1  # pure: input untouched


@pytest.mark.parametrize(
    ("status", "action"),
    [
        ("approved", "approve"),
        ("draft", "approve"),
        ("rejected", "reject"),
        ("pending", "feature"),
        ("unpublished", "unpublish"),
        ("pending", "submit"),
        ("approved", "submit"),
        ("draft", "withdraw"),
    ],
)
def test_a_move_from_the_wrong_state_is_a_conflict_that_says_why(status, action):
    with pytest.raises(Conflict) as refused:
        transition(template(status), action, by="x", at=AT, reason="r")
    assert refused.value.message == moderation.NOT_ALLOWED[action].format(status=status)


def test_an_unknown_action_is_not_found():
    with pytest.raises(NotFound):
        transition(template("pending"), "promote", by="x", at=AT)


@pytest.mark.parametrize("reason", ["", "   ", "x" * (moderation.MAX_REASON + 1)])
def test_a_rejection_needs_a_reason_of_bounded_length(reason):
    with pytest.raises(ValidationFailed) as refused:
        transition(template("pending"), "reject", by="x", at=AT, reason=reason)
    assert "reason" in refused.value.fields


def test_a_rejection_keeps_submitted_at_so_it_lists_under_rejected():
    changes = transition(template("pending"), "reject", by="x", at=AT, reason="  Too vague. ")
    assert "submitted_at" not in changes and changes["rejection_reason"] == "Too vague."
    approve = transition(template("pending"), "approve", by="x", at=AT)
    assert approve["submitted_at"] is None and approve["rejection_reason"] is None


def test_feature_and_unfeature_change_only_the_flag():
    assert {k for k in transition(template("approved"), "feature", by="x", at=AT)} == {
        "featured",
        "moderation_history",
    }
    assert transition(template("approved", featured=True), "unfeature", by="x", at=AT)["featured"] is False
    assert transition(template("approved", featured=True), "unpublish", by="x", at=AT)["featured"] is False


def test_create_is_a_draft_or_waits_for_review_when_public():
    assert (
        transition(template("draft", visibility="private"), "create", by="Ada", at=AT)["moderation_status"]
        == "draft"
    )
    public = transition(template("draft", visibility="public"), "create", by="Ada", at=AT)
    assert public["moderation_status"] == "pending" and public["submitted_at"] == AT
    assert [entry.action for entry in public["moderation_history"]] == ["created", "submitted"]


def test_editing_a_listed_template_sends_it_back_to_review():
    changes = transition(template("approved"), "edit", by="Ada", at=AT, visibility="public")
    assert changes["moderation_status"] == "pending" and changes["submitted_at"] == AT
    assert changes["moderation_history"][-1].action == "submitted"
    still_pending = transition(template("pending"), "edit", by="Ada", at=AT, visibility="public")
    assert "moderation_history" not in still_pending and "submitted_at" not in still_pending


def test_editing_to_private_takes_it_out_of_the_catalogue():
    changes = transition(template("approved", featured=True), "edit", by="Ada", at=AT, visibility="private")
    assert (changes["moderation_status"], changes["featured"], changes["submitted_at"]) == (
        "draft",
        False,
        None,
    )
    assert changes["moderation_history"][-1].action == "withdrawn"
    assert "moderation_history" not in transition(
        template("rejected"), "edit", by="Ada", at=AT, visibility="private"
    )


@pytest.mark.parametrize(
    ("scope", "status", "featured", "offered"),
    [
        (ACME, "draft", False, ["submit"]),
        (ACME, "approved", False, ["withdraw"]),
        (ACME, "rejected", False, ["submit"]),
        (GLOBEX, "approved", False, []),  # another tenant's template: nothing to offer
        (MOD, "pending", False, ["approve", "reject"]),
        (MOD, "approved", False, ["feature", "unpublish"]),
        (MOD, "approved", True, ["unfeature", "unpublish"]),
        (MOD, "rejected", False, []),
        (MOD, "unpublished", False, []),
        (STAFF_SCOPE, "pending", False, ["withdraw", "approve", "reject"]),
    ],
)
def test_pages_offer_exactly_the_moves_the_person_may_make(scope, status, featured, offered):
    actions = actions_for(scope, template(status, featured=featured))
    assert names(actions) == offered
    for action in actions:  # everything offered is a move the state machine accepts
        transition(template(status, featured=featured), action.name, by="x", at=AT, reason="r")


def test_only_reject_asks_for_a_reason_and_only_unpublish_asks_to_confirm():
    pending = {a.name: a for a in actions_for(MOD, template("pending"))}
    approved = {a.name: a for a in actions_for(MOD, template("approved"))}
    assert pending["reject"].needs_reason and not pending["approve"].needs_reason
    assert approved["unpublish"].asks_first and not approved["feature"].asks_first


def test_who_may_see_and_change_a_template():
    draft, listed = template("draft"), template("approved")
    listed.listing = "public"
    assert moderation.can_view(ACME, draft) and not moderation.can_view(GLOBEX, draft)
    assert not moderation.can_view(MOD, draft) and moderation.can_view(MOD, template("pending"))
    assert moderation.can_view(GLOBEX, listed)
    assert moderation.can_edit(ACME, draft) and not moderation.can_edit(GLOBEX, draft)
    api = AccessScope(role=API, actor_id="key_1", actor_label="API key ci", tenant_id="acme")
    assert moderation.can_edit(api, draft) and not moderation.can_rate(api)
    assert (
        moderation.can_moderate(MOD)
        and moderation.can_moderate(STAFF_SCOPE)
        and not moderation.can_moderate(ACME)
    )
