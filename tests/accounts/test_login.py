from datetime import timedelta

from django.conf import settings
from django.test import Client

from dashboard.accounts import services
from dashboard.accounts.access import scope_for_user
from dashboard.accounts.models import SessionItem
from dashboard.accounts.queries import get_user
from dashboard.accounts.services import set_active
from dashboard.core import clock
from tests.conftest import PASSWORD, client_for, session_for, unique


def make_admin(tenant: str = "acme"):
    return services.create_user(f"{unique('u')}@acme.test", PASSWORD, "tenant_admin", tenant)


def test_the_login_page_asks_for_email_and_password(people):
    response = Client().get("/login/")
    assert response.status_code == 200
    assert b'name="email"' in response.content and b'name="password"' in response.content


def test_pages_send_signed_out_people_to_login(people):
    response = Client().get("/audit/".replace("/audit/", "/account/audit/"))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_right_password_signs_in_and_lands_on_next(people):
    client = Client()
    response = client.post(
        "/login/", {"email": "ADMIN@acme.test", "password": PASSWORD, "next": "/account/audit/"}
    )
    assert response.status_code == 302 and response["Location"] == "/account/audit/"
    assert client.get("/").status_code == 200


def test_login_refuses_a_foreign_next_url(people):
    response = Client().post(
        "/login/", {"email": "admin@acme.test", "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_wrong_password_is_refused_with_a_message(people):
    client = Client()
    response = client.post(
        "/login/", {"email": "admin@globex.test", "password": "nope-nope"}, REMOTE_ADDR=unique()
    )
    assert response.status_code == 200
    assert b"do not match an active account" in response.content
    assert client.get("/").status_code == 302


def test_logout_deletes_the_session(people):
    user = make_admin()
    key = session_for(user)
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = key
    assert client.get("/").status_code == 200
    client.post("/logout/")
    assert SessionItem.count(key) == 0
    stale = Client()
    stale.cookies[settings.SESSION_COOKIE_NAME] = key
    assert stale.get("/").status_code == 302


def test_an_expired_session_no_longer_signs_in(people):
    user = make_admin()
    key = session_for(user)
    item = SessionItem.get(key)
    item.update(actions=[SessionItem.expires_at.set(clock.now() - timedelta(seconds=1))])
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = key
    assert client.get("/").status_code == 302


def test_disabling_a_user_ends_their_sessions(people):
    user = make_admin()
    client = client_for(user)
    assert client.get("/").status_code == 200
    set_active(scope_for_user(people["staff"]), user.user_id, False)
    assert list(SessionItem.by_user.query(user.user_id)) == []
    assert client.get("/").status_code == 302
    refused = Client().post("/login/", {"email": user.email, "password": PASSWORD}, REMOTE_ADDR=unique())
    assert b"do not match an active account" in refused.content
    assert get_user(user.user_id).is_active is False
