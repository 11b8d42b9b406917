"""The own-account page: change one's password, see and end one's own sessions."""

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.test import Client

from dashboard.accounts import queries, services
from dashboard.audit.models import AuditEvent
from tests.conftest import PASSWORD, client_for, unique

NEW = "plum-kettle-harbour-42"


def new_admin():
    return services.create_user(f"{unique('me')}@acme.test", PASSWORD, "tenant_admin", "acme", "Dora Dunn")


def signed_in(email: str, password: str = PASSWORD, agent: str = "TestBrowser/1.0") -> Client:
    client = Client(HTTP_USER_AGENT=agent)
    assert (
        client.post("/login/", {"email": email, "password": password}, REMOTE_ADDR=unique("ip")).status_code
        == 302
    )
    return client


def change(client: Client, current: str, new: str, again: str | None = None):
    return client.post(
        "/account/me/password/", {"current": current, "new": new, "again": new if again is None else again}
    )


def test_a_person_changes_their_password_and_only_their_other_browsers_are_signed_out(people):
    user = new_admin()
    here, elsewhere = signed_in(user.email), signed_in(user.email)
    response = change(here, PASSWORD, NEW)
    assert response.status_code == 302
    assert check_password(NEW, queries.get_user(user.user_id).password)
    assert here.get("/account/me/").status_code == 200
    assert elsewhere.get("/account/me/").status_code == 302  # to the sign-in page
    assert Client().post("/login/", {"email": user.email, "password": NEW}).status_code == 302
    events = list(AuditEvent.query("acme", AuditEvent.sk >= "2000", scan_index_forward=False, limit=50))
    assert any(e.action == "user.password_change" and e.target_id == user.user_id for e in events)


def test_a_wrong_current_password_changes_nothing(people):
    user = new_admin()
    client = client_for(user)
    response = change(client, "not-my-password", NEW)
    assert response.status_code == 422
    assert "not your current password" in response.content.decode()
    assert check_password(PASSWORD, queries.get_user(user.user_id).password)


def test_wrong_current_passwords_count_on_the_sign_in_throttle(people):
    user = new_admin()
    client = client_for(user)
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        change(client, "not-my-password", NEW, again=NEW)
    response = change(client, PASSWORD, NEW)
    assert "Too many wrong passwords" in response.content.decode()
    assert check_password(PASSWORD, queries.get_user(user.user_id).password)


def test_djangos_validators_refuse_a_weak_new_password(people):
    user = new_admin()
    client = client_for(user)
    for weak, reason in (
        ("short", "at least 12 characters"),
        ("123456789012345", "entirely numeric"),
        ("password1234", "too common"),
        (user.email, "too similar"),
    ):
        response = change(client, PASSWORD, weak)
        assert response.status_code == 422 and reason in response.content.decode(), weak
    assert check_password(PASSWORD, queries.get_user(user.user_id).password)


def test_the_two_new_passwords_must_match(people):
    user = new_admin()
    response = change(client_for(user), PASSWORD, NEW, again=NEW + "x")
    assert response.status_code == 422 and "differ" in response.content.decode()


def test_a_person_sees_their_browsers_and_signs_one_out(people):
    user = new_admin()
    here = signed_in(user.email, agent="HereBrowser/2")
    there = signed_in(user.email, agent="ThereBrowser/3")
    page = here.get("/account/me/").content.decode()
    assert "HereBrowser/2" in page and "ThereBrowser/3" in page and "this browser" in page
    (there_item,) = [s for s in queries.own_sessions(user.user_id) if s.agent == "ThereBrowser/3"]
    assert there_item.session_key not in page  # pages never show a working session key
    ref = queries.session_ref(there_item.session_key)
    assert here.post(f"/account/me/sessions/{ref}/end/").status_code == 302
    assert there.get("/account/me/").status_code == 302
    assert here.get("/account/me/").status_code == 200


def test_nobody_can_end_someone_elses_session(people):
    user, other = new_admin(), new_admin()
    theirs = signed_in(other.email)
    (item,) = queries.own_sessions(other.user_id)
    response = client_for(user).post(f"/account/me/sessions/{queries.session_ref(item.session_key)}/end/")
    assert response.status_code == 404
    assert theirs.get("/account/me/").status_code == 200


def test_sign_out_everywhere_else_keeps_this_browser(people):
    user = new_admin()
    here, there = signed_in(user.email), signed_in(user.email)
    here.post("/account/me/sessions/end-others/")
    assert here.get("/account/me/").status_code == 200
    assert there.get("/account/me/").status_code == 302
