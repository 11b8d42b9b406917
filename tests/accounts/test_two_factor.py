"""The second factor: enrol an authenticator app, sign in with its code, recovery codes, the policy."""

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pyotp
import pytest
from django.conf import settings
from django.test import Client

from dashboard.accounts import queries, services
from dashboard.accounts.access import scope_for_user
from dashboard.core import clock
from tests.conftest import PASSWORD, client_for, unique


def new_admin():
    return services.create_user(f"{unique('tf')}@acme.test", PASSWORD, "tenant_admin", "acme")


def enrolled():
    """A person with the second factor on: (user, secret, recovery codes)."""
    user = new_admin()
    secret = services.new_totp_secret()
    codes = services.enable_totp(
        user, secret, pyotp.TOTP(secret).at(clock.now() - timedelta(seconds=30))
    )  # last step's code
    return queries.get_user(user.user_id), secret, codes


def password_step(email: str, address: str | None = None, client: Client | None = None):
    client = client or Client()
    response = client.post(
        "/login/", {"email": email, "password": PASSWORD}, REMOTE_ADDR=address or unique("ip")
    )
    return client, response


def code_step(client: Client, code: str, address: str | None = None):
    return client.post("/login/code/", {"code": code}, REMOTE_ADDR=address or unique("ip"))


def test_a_person_enrols_by_scanning_and_confirming_a_code(people):
    user = new_admin()
    client = client_for(user)
    page = client.get("/account/me/two-factor/").content.decode()
    assert "<svg" in page and "qrline" in page  # the QR code, drawn inline
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    assert client.post("/account/me/two-factor/", {"code": "000000"}).status_code == 422
    response = client.post("/account/me/two-factor/", {"code": pyotp.TOTP(secret).now()})
    codes = re.findall(r"<code>([a-z2-7]{4}-[a-z2-7]{4})</code>", response.content.decode())
    assert response.status_code == 200 and len(codes) == services.RECOVERY_CODES
    stored = queries.get_user(user.user_id)
    assert stored.totp_secret == secret
    assert not set(codes) & stored.recovery_codes  # kept as digests only
    again = client.get("/account/me/two-factor/").content.decode()
    assert codes[0] not in again  # shown once


def test_signing_in_asks_the_code_after_the_password(people):
    user, secret, _codes = enrolled()
    client, response = password_step(user.email)
    assert response.status_code == 302 and response["Location"].startswith("/login/code/")
    assert client.get("/account/me/").status_code == 302  # not signed in yet
    assert code_step(client, "123456").status_code == 422
    response = code_step(client, pyotp.TOTP(secret).now())
    assert response.status_code == 302
    assert client.get("/account/me/").status_code == 200


def test_the_code_page_without_the_password_step_sends_back_to_sign_in(people):
    response = Client().post("/login/code/", {"code": "123456"})
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_code_cannot_be_used_twice_in_its_window(people):
    user, secret, _codes = enrolled()
    code = pyotp.TOTP(secret).now()
    first, _ = password_step(user.email)
    assert code_step(first, code).status_code == 302
    second, _ = password_step(user.email)
    response = code_step(second, code)
    assert response.status_code == 422 and "does not match" in response.content.decode()
    assert second.get("/account/me/").status_code == 302


def test_two_sign_ins_with_one_code_at_once_let_one_in(people):
    user, secret, _codes = enrolled()
    code = pyotp.TOTP(secret).now()
    clients = [password_step(user.email)[0] for _ in range(6)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(lambda c: code_step(c, code).status_code, clients))
    assert statuses.count(302) == 1


def test_a_recovery_code_signs_in_once(people):
    user, _secret, codes = enrolled()
    client, _ = password_step(user.email)
    response = code_step(client, codes[0].upper())
    assert response.status_code == 302
    other, _ = password_step(user.email)
    assert code_step(other, codes[0]).status_code == 422
    assert len(queries.get_user(user.user_id).recovery_codes) == services.RECOVERY_CODES - 1


def test_wrong_codes_count_on_the_sign_in_throttle(people):
    user, secret, _codes = enrolled()
    address = unique("ip")
    client, _ = password_step(user.email, address)
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        code_step(client, "000000", address)
    response = code_step(client, pyotp.TOTP(secret).now(), address)
    assert response.status_code == 429 and "Too many failed sign-in attempts" in response.content.decode()
    assert client.get("/account/me/").status_code == 302


def test_the_password_step_expires(people, monkeypatch):
    user, secret, _codes = enrolled()
    client, _ = password_step(user.email)
    later = clock.now() + timedelta(minutes=6)
    monkeypatch.setattr(clock, "now", lambda: later)
    response = code_step(client, pyotp.TOTP(secret).at(later))
    assert response.status_code == 302 and response["Location"].startswith("/login/?")


def test_staff_require_it_for_a_role_and_its_people_enrol_at_next_sign_in(people, staff):
    try:
        assert staff.post("/account/sign-in-policy/", {"roles": ["moderator"]}).status_code == 302
        mod = services.create_user(f"{unique('tf')}@diatonic.test", PASSWORD, "moderator")
        client, response = password_step(mod.email)
        assert response["Location"] == "/account/me/two-factor/"
        assert client.get("/templates/").status_code == 302  # every page leads to enrolment
        page = client.get("/account/me/two-factor/").content.decode()
        secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
        client.post("/account/me/two-factor/", {"code": pyotp.TOTP(secret).now()})
        assert client.get("/templates/").status_code == 200
        # and it cannot be turned off while the role requires it
        with pytest.raises(services.ValidationFailed):
            services.disable_totp(queries.get_user(mod.user_id), pyotp.TOTP(secret).now())
    finally:
        services.set_sign_in_policy(scope_for_user(people["staff"]), set())


def test_a_person_turns_it_off_with_a_current_code(people):
    user, secret, _codes = enrolled()
    client = client_for(user)
    assert client.post("/account/me/two-factor/", {"code": "000000"}).status_code == 422
    client.post("/account/me/two-factor/", {"code": pyotp.TOTP(secret).now()})
    assert queries.get_user(user.user_id).totp_secret is None
    _client, response = password_step(user.email)
    assert response["Location"] == "/"  # the password alone signs in again


def test_only_staff_set_the_policy(acme_admin, moderator):
    for client in (acme_admin, moderator):
        assert client.post("/account/sign-in-policy/", {"roles": ["staff"]}).status_code == 403
