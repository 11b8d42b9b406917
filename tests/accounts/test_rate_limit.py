from datetime import timedelta

from django.conf import settings
from django.test import Client

from dashboard.accounts import services
from dashboard.core import clock
from tests.conftest import PASSWORD, unique


def new_admin():
    return services.create_user(f"{unique('rl')}@acme.test", PASSWORD, "tenant_admin", "acme")


def attempt(email: str, password: str, address: str, client: Client | None = None):
    return (client or Client()).post("/login/", {"email": email, "password": password}, REMOTE_ADDR=address)


def signed_out(response) -> bool:
    return (
        settings.SESSION_COOKIE_NAME not in response.cookies
        or not response.cookies[settings.SESSION_COOKIE_NAME].value
    )


def test_guesses_from_one_address_do_not_stop_the_owner_signing_in_from_another(people):
    user = new_admin()
    attacker = unique("ip")
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT * 3):
        attempt(user.email, "wrong-password", attacker)
    assert attempt(user.email, PASSWORD, attacker).status_code == 429  # the guesser waits
    assert attempt(user.email, PASSWORD, unique("ip")).status_code == 302  # the owner does not


def test_guesses_from_the_owners_own_address_do_not_stop_a_known_device(people):
    user = new_admin()
    office = unique("ip")
    owner = Client()
    assert attempt(user.email, PASSWORD, office, owner).status_code == 302  # the browser becomes known
    owner.post("/logout/")
    for _ in range(settings.LOGIN_FAILURES_PER_ADDRESS + 5):
        attempt(user.email, "wrong-password", office)
    assert attempt(user.email, PASSWORD, office).status_code == 429  # an unknown browser waits
    assert attempt(user.email, PASSWORD, office, owner).status_code == 302


def test_a_forged_known_device_cookie_is_ignored(people):
    user = new_admin()
    address = unique("ip")
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT + 1):
        attempt(user.email, "wrong-password", address)
    client = Client()
    client.cookies["known_device"] = "forged:value"
    assert attempt(user.email, PASSWORD, address, client).status_code == 429


def test_failures_on_one_account_from_one_address_slow_it_down_rather_than_lock_it(people, monkeypatch):
    user = new_admin()
    address = unique("ip")
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        attempt(user.email, "wrong-password", address)
    response = attempt(user.email, PASSWORD, address)
    assert response.status_code == 429
    assert b"Too many failed sign-in attempts. Wait" in response.content
    assert 1 <= int(response["Retry-After"]) <= 5  # seconds, not the whole window
    assert signed_out(response)
    later = clock.now() + timedelta(seconds=int(response["Retry-After"]) + 1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert attempt(user.email, PASSWORD, address).status_code == 302


def test_each_attempt_past_the_limit_waits_longer(people, monkeypatch):
    user = new_admin()
    address = unique("ip")
    moment = clock.now()
    monkeypatch.setattr(clock, "now", lambda: moment)
    waits = []
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT + 3):
        response = attempt(user.email, "wrong-password", address)
        if response.status_code == 429:
            waits.append(int(response["Retry-After"]))
            moment = moment + timedelta(seconds=waits[-1])
    assert waits and waits == sorted(waits) and waits[-1] > waits[0]


def test_many_addresses_guessing_one_account_slow_down_strangers_but_not_a_known_device(people, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT_ANY_ADDRESS = 6
    user = new_admin()
    owner = Client()
    assert attempt(user.email, PASSWORD, unique("ip"), owner).status_code == 302
    owner.post("/logout/")
    for _ in range(8):
        attempt(user.email, "wrong-password", unique("ip"))
    assert attempt(user.email, PASSWORD, unique("ip")).status_code == 429
    assert attempt(user.email, PASSWORD, unique("ip"), owner).status_code == 302


def test_one_address_failing_on_many_accounts_is_blocked(people):
    address = unique("ip")
    for _ in range(settings.LOGIN_FAILURES_PER_ADDRESS):
        attempt(f"{unique('nobody')}@acme.test", "wrong-password", address)
    user = new_admin()
    assert attempt(user.email, PASSWORD, address).status_code == 429
    assert attempt(user.email, PASSWORD, unique("ip")).status_code == 302


def test_the_address_works_again_once_the_window_has_passed(people, monkeypatch):
    address = unique("ip")
    for _ in range(settings.LOGIN_FAILURES_PER_ADDRESS + 3):
        attempt(f"{unique('nobody')}@acme.test", "wrong-password", address)
    user = new_admin()
    assert attempt(user.email, PASSWORD, address).status_code == 429
    later = clock.now() + timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS + 1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert attempt(user.email, PASSWORD, address).status_code == 302


def test_failures_below_the_limit_do_not_block(people):
    user = new_admin()
    address = unique("ip")
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT - 1):
        attempt(user.email, "wrong-password", address)
    assert attempt(user.email, PASSWORD, address).status_code == 302
