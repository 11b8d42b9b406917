"""Passkeys (WebAuthn) as a second factor: register on the account page, answer at sign-in, remove.
The answers are real ES256 signatures from a software authenticator (tests/accounts/softkey.py)."""

import json

import pytest
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.test import Client
from webauthn.helpers import base64url_to_bytes

from dashboard.accounts import queries, services
from dashboard.accounts.access import scope_for_user
from dashboard.audit.models import AuditEvent
from tests.accounts.softkey import SoftKey
from tests.conftest import PASSWORD, client_for, unique

RP = services.RelyingParty(rp_id="testserver", origin="http://testserver")


def new_admin():
    return services.create_user(f"{unique('pk')}@acme.test", PASSWORD, "tenant_admin", "acme")


def registered(name: str = "Laptop"):
    """A person with one passkey: (user, its authenticator)."""
    user = new_admin()
    key = SoftKey()
    _options, challenge = services.passkey_registration_options(user, RP)
    services.add_passkey(user, RP, challenge, key.create(challenge), name)
    return user, key


def sign_in_challenge(user) -> bytes:
    return services.passkey_sign_in_options(user, RP)[1]


def stored(user, key):
    return queries.get_passkey(user.user_id, key.id)


def audit_actions(user) -> list[str]:
    events = AuditEvent.query("acme", AuditEvent.sk >= "2000", scan_index_forward=False, limit=100)
    return [event.action for event in events if event.target_id == user.user_id]


# --- registration --------------------------------------------------------------------------------


def test_a_registered_passkey_is_kept_with_its_name_and_key(people):
    user, key = registered("Work laptop")
    passkey = stored(user, key)
    assert passkey.name == "Work laptop" and passkey.sign_count == 0
    assert passkey.transports == {"internal"} and passkey.last_used_at is None
    assert "user.passkey_add" in audit_actions(user)
    options, _challenge = services.passkey_registration_options(user, RP)
    assert key.id in options  # the same authenticator is not offered twice (excludeCredentials)


@pytest.mark.parametrize(
    "spoil",
    ["challenge", "origin", "none", "garbage"],
)
def test_a_registration_with_a_bad_answer_is_refused_and_keeps_nothing(people, spoil):
    user, key = new_admin(), SoftKey()
    _options, challenge = services.passkey_registration_options(user, RP)
    answer = {
        "challenge": lambda: key.create(b"not-the-challenge-we-kept-here!!"),
        "origin": lambda: key.create(challenge, origin="https://evil.test"),
        "none": lambda: key.create(challenge),
        "garbage": lambda: '{"id": 1, "response": []}',
    }[spoil]()
    with pytest.raises(services.ValidationFailed) as refused:
        services.add_passkey(user, RP, None if spoil == "none" else challenge, answer, "Laptop")
    assert refused.value.message in (services.PASSKEY_NOT_ADDED, services.PASSKEY_STALE)
    assert queries.passkeys_of(user.user_id) == []


def test_a_passkey_needs_a_name(people):
    user, key = new_admin(), SoftKey()
    _options, challenge = services.passkey_registration_options(user, RP)
    with pytest.raises(services.ValidationFailed) as refused:
        services.add_passkey(user, RP, challenge, key.create(challenge), "  ")
    assert "name" in refused.value.fields
    assert queries.passkeys_of(user.user_id) == []


# --- sign-in -------------------------------------------------------------------------------------


def test_a_passkey_answer_raises_the_counter_and_records_its_use(people):
    user, key = registered()
    challenge = sign_in_challenge(user)
    services.verify_passkey(user, RP, challenge, key.get(challenge), unique("ip"))
    passkey = stored(user, key)
    assert passkey.sign_count == 1 and passkey.last_used_at is not None


@pytest.mark.parametrize("spoil", ["challenge", "origin", "rp"])
def test_a_bad_sign_in_answer_is_refused_and_changes_nothing(people, spoil):
    user, key = registered()
    challenge = sign_in_challenge(user)
    if spoil == "challenge":
        answer, rp = key.get(b"a-challenge-the-server-never-made"), RP
    elif spoil == "origin":
        answer, rp = key.get(challenge, origin="https://evil.test"), RP
    else:
        answer, rp = key.get(challenge), services.RelyingParty(rp_id="elsewhere.test", origin=RP.origin)
    with pytest.raises(services.LoginFailed) as refused:
        services.verify_passkey(user, rp, challenge, answer, unique("ip"))
    assert refused.value.message == services.PASSKEY_REFUSED
    passkey = stored(user, key)
    assert passkey.sign_count == 0 and passkey.last_used_at is None


def test_a_replayed_answer_is_refused_as_a_copy(people):
    user, key = registered()
    challenge = sign_in_challenge(user)
    answer = key.get(challenge)
    services.verify_passkey(user, RP, challenge, answer, unique("ip"))
    with pytest.raises(services.LoginFailed) as refused:
        services.verify_passkey(user, RP, challenge, answer, unique("ip"))
    assert refused.value.message == services.PASSKEY_CLONED
    assert stored(user, key).sign_count == 1


def test_a_cloned_authenticator_whose_counter_lags_is_refused(people):
    user, key = registered()
    for _ in range(3):
        challenge = sign_in_challenge(user)
        services.verify_passkey(user, RP, challenge, key.get(challenge), unique("ip"))
    used_at = stored(user, key).last_used_at
    challenge = sign_in_challenge(user)
    with pytest.raises(services.LoginFailed) as refused:
        services.verify_passkey(user, RP, challenge, key.get(challenge, count=2), unique("ip"))
    assert "copied" in refused.value.message
    passkey = stored(user, key)
    assert passkey.sign_count == 3 and passkey.last_used_at == used_at


def test_of_two_answers_racing_with_one_counter_only_one_gets_in(people, monkeypatch):
    """Both read the stored counter (0) before either wrote: the conditional update lets one in."""
    user, key = registered()
    stale = stored(user, key)
    first, second = sign_in_challenge(user), sign_in_challenge(user)
    first_answer, second_answer = key.get(first), key.get(second, count=1)
    services.verify_passkey(user, RP, first, first_answer, unique("ip"))
    monkeypatch.setattr(services, "get_passkey", lambda *_args: stale)  # read before the first wrote
    with pytest.raises(services.LoginFailed) as refused:
        services.verify_passkey(user, RP, second, second_answer, unique("ip"))
    assert refused.value.message == services.PASSKEY_CLONED


def test_another_persons_passkey_does_not_sign_in(people):
    user, _key = registered()
    _other, other_key = registered()
    challenge = sign_in_challenge(user)
    with pytest.raises(services.LoginFailed):
        services.verify_passkey(user, RP, challenge, other_key.get(challenge), unique("ip"))


def test_wrong_passkey_answers_count_on_the_sign_in_throttle(people):
    user, key = registered()
    address = unique("ip")
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        with pytest.raises(services.LoginFailed):
            services.verify_passkey(user, RP, b"x" * 32, key.get(b"y" * 32), address)
    challenge = sign_in_challenge(user)
    with pytest.raises(services.LoginFailed) as refused:
        services.verify_passkey(user, RP, challenge, key.get(challenge), address)
    assert refused.value.retry_after and "Too many failed sign-in attempts" in refused.value.message


# --- pages ---------------------------------------------------------------------------------------


def test_the_account_page_registers_lists_and_removes_passkeys(people):
    user = new_admin()
    client, key = client_for(user), SoftKey()
    options = client.post("/account/me/passkeys/options/").json()
    assert options["rp"]["id"] == "testserver" and options["user"]["name"] == user.email
    challenge = base64url_to_bytes(options["challenge"])
    response = client.post("/account/me/passkeys/", {"name": "Phone", "credential": key.create(challenge)})
    assert response.status_code == 302
    page = client.get("/account/me/").content.decode()
    assert "Phone" in page and f"/account/me/passkeys/{key.id}/remove/" in page
    # The challenge answered once: the same answer again is refused, with a clear message.
    again = client.post("/account/me/passkeys/", {"name": "Phone 2", "credential": key.create(challenge)})
    assert again.status_code == 422 and "timed out" in again.content.decode()
    assert client.post(f"/account/me/passkeys/{key.id}/remove/").status_code == 302
    assert queries.passkeys_of(user.user_id) == []
    assert "user.passkey_remove" in audit_actions(user)


def test_another_persons_passkey_cannot_be_removed(people):
    owner, key = registered()
    client = client_for(new_admin())
    assert client.post(f"/account/me/passkeys/{key.id}/remove/").status_code == 404
    assert stored(owner, key) is not None


def test_signing_in_with_a_password_then_a_passkey(people):
    user, key = registered()
    client = Client()
    response = client.post("/login/", {"email": user.email, "password": PASSWORD}, REMOTE_ADDR=unique("ip"))
    assert response["Location"].startswith("/login/code/")
    page = client.get("/login/code/").content.decode()
    assert "Use a passkey" in page and 'name="code"' not in page  # no authenticator app: passkey only
    assert client.get("/account/me/").status_code == 302  # not signed in yet
    options = client.post("/login/passkey/options/").json()
    assert [item["id"] for item in options["allowCredentials"]] == [key.id]
    challenge = base64url_to_bytes(options["challenge"])
    answer = key.get(challenge)
    response = client.post("/login/passkey/", {"credential": answer}, REMOTE_ADDR=unique("ip"))
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/account/me/").status_code == 200


def test_a_refused_passkey_says_why_and_does_not_sign_in(people):
    user, key = registered()
    client = Client()
    client.post("/login/", {"email": user.email, "password": PASSWORD}, REMOTE_ADDR=unique("ip"))
    options = client.post("/login/passkey/options/").json()
    answer = key.get(base64url_to_bytes(options["challenge"]), origin="https://evil.test")
    response = client.post("/login/passkey/", {"credential": answer}, REMOTE_ADDR=unique("ip"))
    assert response.status_code == 422 and services.PASSKEY_REFUSED in response.content.decode()
    assert client.get("/account/me/").status_code == 302
    for junk in ("", "{", json.dumps({"id": "x"}), "[]"):
        client.post("/login/passkey/options/")
        response = client.post("/login/passkey/", {"credential": junk}, REMOTE_ADDR=unique("ip"))
        assert response.status_code == 422


def test_the_passkey_step_needs_the_password_step_first(people):
    client = Client()
    assert client.post("/login/passkey/options/").status_code == 409
    response = client.post("/login/passkey/", {"credential": "{}"})
    assert response.status_code == 302 and response["Location"].startswith("/login/?")


def test_a_passkey_satisfies_a_role_that_must_use_a_second_factor(people):
    try:
        services.set_sign_in_policy(scope_for_user(people["staff"]), {"tenant_admin"})
        user, key = registered()
        client = Client()
        client.post("/login/", {"email": user.email, "password": PASSWORD}, REMOTE_ADDR=unique("ip"))
        challenge = base64url_to_bytes(client.post("/login/passkey/options/").json()["challenge"])
        response = client.post(
            "/login/passkey/", {"credential": key.get(challenge)}, REMOTE_ADDR=unique("ip")
        )
        assert response["Location"] == "/"  # not sent to enrol an authenticator app
        assert client.get("/templates/").status_code == 200
        # The last second factor of such a person stays.
        with pytest.raises(services.ValidationFailed):
            services.remove_passkey(queries.get_user(user.user_id), key.id)
        assert stored(user, key) is not None
    finally:
        services.set_sign_in_policy(scope_for_user(people["staff"]), set())


def test_a_person_who_must_enrol_may_add_a_passkey_instead(people):
    try:
        services.set_sign_in_policy(scope_for_user(people["staff"]), {"tenant_admin"})
        user = new_admin()
        client = Client()
        response = client.post(
            "/login/", {"email": user.email, "password": PASSWORD}, REMOTE_ADDR=unique("ip")
        )
        assert response["Location"] == "/account/me/two-factor/"
        assert "Add a passkey" in client.get("/account/me/two-factor/").content.decode()
        key = SoftKey()
        challenge = base64url_to_bytes(client.post("/account/me/passkeys/options/").json()["challenge"])
        client.post("/account/me/passkeys/", {"name": "Key", "credential": key.create(challenge)})
        assert client.get("/templates/").status_code == 200
    finally:
        services.set_sign_in_policy(scope_for_user(people["staff"]), set())


def test_a_person_without_a_password_adds_no_passkey(people):
    user = services.create_user(f"{unique('pk')}@acme.test", PASSWORD, "tenant_admin", "acme")
    user.update(actions=[user.__class__.password.set(make_password(None))])  # as single sign-on makes them
    user = queries.get_user(user.user_id)
    client, key = client_for(user), SoftKey()
    assert client.post("/account/me/passkeys/options/").status_code == 409
    _options, challenge = services.passkey_registration_options(user, RP)
    with pytest.raises(services.ValidationFailed) as refused:
        services.add_passkey(user, RP, challenge, key.create(challenge), "Laptop")
    assert refused.value.message == services.PASSKEY_NEEDS_PASSWORD
    assert queries.passkeys_of(user.user_id) == []


def test_a_passkey_removed_twice_at_once_is_audited_once(people, monkeypatch):
    user, key = registered()
    stale = stored(user, key)
    services.remove_passkey(user, key.id)
    monkeypatch.setattr(services, "get_passkey", lambda *_args: stale)  # read before the first removal
    with pytest.raises(services.NotFound):
        services.remove_passkey(user, key.id)
    assert audit_actions(user).count("user.passkey_remove") == 1
