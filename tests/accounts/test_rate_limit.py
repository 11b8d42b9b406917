from datetime import timedelta

from django.conf import settings
from django.test import Client

from dashboard.accounts import services
from dashboard.core import clock
from tests.conftest import PASSWORD, unique


def new_admin():
    return services.create_user(f"{unique('rl')}@acme.test", PASSWORD, "tenant_admin", "acme")


def attempt(email: str, password: str, address: str):
    return Client().post("/login/", {"email": email, "password": password}, REMOTE_ADDR=address)


def test_too_many_failures_for_one_account_block_it_even_with_the_right_password(people):
    user = new_admin()
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        attempt(user.email, "wrong-password", unique("ip"))
    response = attempt(user.email, PASSWORD, unique("ip"))
    assert response.status_code == 429
    assert b"Too many failed sign-in attempts" in response.content
    assert (
        settings.SESSION_COOKIE_NAME not in response.cookies
        or not response.cookies[settings.SESSION_COOKIE_NAME].value
    )


def test_the_account_works_again_once_the_window_has_passed(people, monkeypatch):
    user = new_admin()
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        attempt(user.email, "wrong-password", unique("ip"))
    assert attempt(user.email, PASSWORD, unique("ip")).status_code == 429
    later = clock.now() + timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS + 1)
    monkeypatch.setattr(clock, "now", lambda: later)
    response = attempt(user.email, PASSWORD, unique("ip"))
    assert response.status_code == 302


def test_one_address_failing_on_many_accounts_is_blocked(people):
    address = unique("ip")
    for _ in range(settings.LOGIN_FAILURES_PER_ADDRESS):
        attempt(f"{unique('nobody')}@acme.test", "wrong-password", address)
    user = new_admin()
    assert attempt(user.email, PASSWORD, address).status_code == 429
    assert attempt(user.email, PASSWORD, unique("ip")).status_code == 302


def test_failures_below_the_limit_do_not_block(people):
    user = new_admin()
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT - 1):
        attempt(user.email, "wrong-password", unique("ip"))
    assert attempt(user.email, PASSWORD, unique("ip")).status_code == 302
