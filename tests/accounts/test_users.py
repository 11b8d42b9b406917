import pytest

from dashboard.accounts import queries as account_queries
from dashboard.accounts import services
from dashboard.accounts.models import SessionItem, User
from dashboard.audit.models import AuditEvent
from tests.conftest import PASSWORD, client_for, unique


def test_staff_see_platform_people_and_each_tenants_admins(staff):
    html = staff.get("/account/users/").content.decode()
    for email in ("staff@diatonic.test", "moderator@diatonic.test", "admin@acme.test", "admin@globex.test"):
        assert email in html


def test_staff_disable_someone_and_their_sessions_end(staff):
    user = services.create_user(f"{unique('u')}@acme.test", PASSWORD, "tenant_admin", "acme")
    their_browser = client_for(user)
    response = staff.post(
        f"/account/users/{user.user_id}/active/", {"active": "0", "confirmed": "1"}, follow=True
    )
    assert "sessions have ended" in response.content.decode()
    assert list(SessionItem.by_user.query(user.user_id)) == []
    assert their_browser.get("/").status_code == 302
    staff.post(f"/account/users/{user.user_id}/active/", {"active": "1"})
    assert account_queries.get_user(user.user_id).is_active


def test_staff_cannot_disable_themselves(people, staff):
    me = people["staff"]
    response = staff.post(f"/account/users/{me.user_id}/active/", {"active": "0"}, follow=True)
    assert "cannot disable your own account" in response.content.decode()
    assert account_queries.get_user(me.user_id).is_active


def test_disabling_without_the_question_is_refused_and_changes_nothing(staff):
    user = services.create_user(f"{unique('u')}@acme.test", PASSWORD, "tenant_admin", "acme")
    their_browser = client_for(user)
    response = staff.post(f"/account/users/{user.user_id}/active/", {"active": "0"}, follow=True)
    body = response.content.decode()
    assert "needs confirming first: nothing was changed" in body
    assert f"Disable {user.email}" in body  # landed on the question
    assert account_queries.get_user(user.user_id).is_active and their_browser.get("/").status_code == 200


def test_disabling_an_unknown_user_is_404(staff):
    assert staff.post("/account/users/usr_nobody/active/", {"active": "0"}).status_code == 404


def test_a_tenant_admin_cannot_disable_anyone(people, acme_admin):
    target = people["admin of globex"]
    assert acme_admin.post(f"/account/users/{target.user_id}/active/", {"active": "0"}).status_code == 403
    assert account_queries.get_user(target.user_id).is_active


def _add(client, **changes):
    data = {"email": f"{unique('n')}@acme.test", "name": "", "role": "tenant_admin", "tenant": "acme"}
    data["password"] = PASSWORD
    data.update(changes)
    return client.post("/account/users/", data)


def test_staff_add_a_tenant_admin_who_can_then_sign_in(people, staff, client):
    email = f"{unique('new')}@acme.test"
    response = _add(staff, email=email, name="Nina New")
    assert response.status_code == 302
    user = account_queries.find_user_by_email(email)
    assert (user.role, user.tenant_id, user.name) == ("tenant_admin", "acme", "Nina New")
    assert email in staff.get("/account/users/").content.decode()
    assert client.post("/login/", {"email": email, "password": PASSWORD}).status_code == 302
    created = [
        e
        for e in AuditEvent.query("acme", scan_index_forward=False, limit=50)
        if e.target_id == user.user_id and e.action == "user.create"
    ]
    assert [(e.actor_id, e.changes["role"]) for e in created] == [(people["staff"].user_id, "tenant_admin")]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"tenant": ""}, "tenant", "A tenant admin needs a tenant."),
        ({"role": "moderator"}, "tenant", "Staff and moderators belong to no tenant."),
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"password": "short"}, "password", "at least 12 characters"),
        ({"role": "owner"}, "role", "Select a valid choice."),
        ({"tenant": "nowhere"}, "tenant", "Select a valid choice."),
        ({"email": "admin@acme.test"}, "email", "already registered"),
    ],
)
def test_a_bad_new_person_is_refused_next_to_the_field_and_nothing_is_written(staff, changes, field, message):
    changes = dict(changes)
    email = changes.pop("email", f"{unique('bad')}@acme.test")
    response = _add(staff, email=email, **changes)
    assert response.status_code == 422
    html = response.content.decode()
    assert message in html and f'id="id_{field}"' in html
    assert len(list(User.by_email.query(email))) == (1 if email == "admin@acme.test" else 0)


def test_a_tenant_admin_cannot_add_people(acme_admin):
    email = f"{unique('sneak')}@acme.test"
    assert _add(acme_admin, email=email).status_code == 403
    assert account_queries.find_user_by_email(email) is None


def _edit(client, user, **changes):
    data = {"name": user.name, "role": user.role, "tenant": user.tenant_id or "", "password": ""}
    data["version"] = str(user.version)
    data.update(changes)
    return client.post(f"/account/users/{user.user_id}/", data)


def test_staff_move_a_person_to_moderator_and_their_sessions_end(people, staff):
    user = services.create_user(f"{unique('mv')}@acme.test", PASSWORD, "tenant_admin", "acme")
    their_browser = client_for(user)
    assert _edit(staff, user, role="moderator", tenant="").status_code == 302
    stored = account_queries.get_user(user.user_id)
    assert (stored.role, stored.tenant_id) == ("moderator", None)
    assert their_browser.get("/").status_code == 302  # signed out
    event = next(
        e
        for e in AuditEvent.query("platform", scan_index_forward=False, limit=50)
        if e.target_id == user.user_id and e.action == "user.update"
    )
    assert event.changes["role"] == "tenant_admin → moderator" and event.changes["tenant"] == "acme → —"


def test_a_new_name_keeps_sessions_and_a_new_password_works(staff, client):
    user = services.create_user(f"{unique('nm')}@acme.test", PASSWORD, "tenant_admin", "acme")
    their_browser = client_for(user)
    assert _edit(staff, user, name="Renamed Person").status_code == 302
    assert their_browser.get("/").status_code == 200
    user = account_queries.get_user(user.user_id)
    assert user.name == "Renamed Person"
    assert _edit(staff, user, password="a-brand-new-pass").status_code == 302
    assert their_browser.get("/").status_code == 302
    response = client.post("/login/", {"email": user.email, "password": "a-brand-new-pass"})
    assert response.status_code == 302


def test_the_second_of_two_conflicting_edits_is_refused(staff):
    user = services.create_user(f"{unique('cf')}@acme.test", PASSWORD, "tenant_admin", "acme")
    assert _edit(staff, user, name="First").status_code == 302
    response = _edit(staff, user, name="Second")  # made from the same, now old, version
    assert response.status_code == 409
    assert "Someone else changed this person meanwhile" in response.content.decode()
    assert account_queries.get_user(user.user_id).name == "First"


def test_bad_edits_are_refused_next_to_the_field(people, staff):
    user = services.create_user(f"{unique('be')}@acme.test", PASSWORD, "tenant_admin", "acme")
    for changes, message in (
        ({"tenant": ""}, "A tenant admin needs a tenant."),
        ({"password": "short"}, "at least 12 characters"),
        ({"version": "x"}, "This form is out of date or damaged"),
    ):
        response = _edit(staff, user, **changes)
        assert response.status_code == 422 and message in response.content.decode()
    assert account_queries.get_user(user.user_id).version == user.version
    me = people["staff"]
    response = _edit(staff, account_queries.get_user(me.user_id), role="moderator")
    assert "You cannot change your own role." in response.content.decode()
    assert account_queries.get_user(me.user_id).role == "staff"


def test_editing_needs_staff_and_a_real_person(people, acme_admin, staff):
    target = people["admin of globex"]
    assert acme_admin.get(f"/account/users/{target.user_id}/").status_code == 403
    assert _edit(acme_admin, target, name="Hacked").status_code == 403
    assert account_queries.get_user(target.user_id).name != "Hacked"
    assert staff.get("/account/users/usr_nobody/").status_code == 404


def test_staff_see_a_persons_sessions_and_sign_them_out_everywhere(people, staff):
    user = services.create_user(f"{unique('so')}@acme.test", PASSWORD, "tenant_admin", "acme")
    laptop, phone = client_for(user), client_for(user)
    html = staff.get(f"/account/users/{user.user_id}/").content.decode()
    assert 'id="session-count">2<' in html
    response = staff.post(f"/account/users/{user.user_id}/sign-out/", follow=True)
    assert "Signed out of 2 sessions." in response.content.decode()
    assert laptop.get("/").status_code == 302 and phone.get("/").status_code == 302
    assert account_queries.get_user(user.user_id).is_active  # they can sign in again
    event = next(
        e
        for e in AuditEvent.query("acme", scan_index_forward=False, limit=50)
        if e.target_id == user.user_id and e.action == "user.sign_out"
    )
    assert event.changes == {"sessions": 2} and event.actor_id == people["staff"].user_id
    assert staff.post("/account/users/usr_nobody/sign-out/").status_code == 404


def test_a_tenant_admin_cannot_sign_others_out(people, acme_admin):
    target = people["admin of globex"]
    assert acme_admin.post(f"/account/users/{target.user_id}/sign-out/").status_code == 403
