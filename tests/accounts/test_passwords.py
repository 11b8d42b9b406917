"""Passwords: strong enough wherever they are set, hashes kept current, CSRF token new at sign-in."""

import pytest
from django.contrib.auth.hashers import check_password, make_password
from django.core.management import CommandError, call_command
from django.test import Client

from dashboard.accounts import queries, services
from dashboard.core.errors import ValidationFailed
from tests.analytics.conftest import STAFF_SCOPE
from tests.conftest import PASSWORD, unique

WEAK = [
    ("aaaaaaaa", "at least 12 characters"),
    (" " * 8, "at least 12 characters"),
    (" " * 14, "too few characters"),
    ("abababababababab", "too few characters"),
    ("123456789012", "entirely numeric"),
    ("password1234", "too common"),
]


@pytest.mark.parametrize(("password", "reason"), WEAK)
def test_a_weak_password_is_refused_for_a_new_person(people, password, reason):
    with pytest.raises(ValidationFailed) as refused:
        services.create_user(f"{unique('pw')}@acme.test", password, "tenant_admin", "acme")
    assert reason in refused.value.fields["password"]


def test_the_email_itself_is_refused_as_a_password(people):
    email = f"{unique('pw')}@acme.test"
    with pytest.raises(ValidationFailed) as refused:
        services.create_user(email, email, "tenant_admin", "acme")
    assert "too similar" in refused.value.fields["password"]


def test_a_weak_new_password_is_refused_when_staff_change_it(people):
    user = services.create_user(f"{unique('pw')}@acme.test", PASSWORD, "tenant_admin", "acme")
    with pytest.raises(ValidationFailed) as refused:
        services.update_user(
            STAFF_SCOPE,
            user.user_id,
            name=user.name,
            role=user.role,
            tenant_id=user.tenant_id,
            password="a" * 12,
        )
    assert "too few characters" in refused.value.fields["password"]


def test_the_create_user_command_refuses_a_weak_password(people):
    with pytest.raises(CommandError, match="at least 12 characters"):
        call_command(
            "create_user",
            email=f"{unique('pw')}@acme.test",
            role="tenant_admin",
            tenant="acme",
            password="aaaaaaaa",
        )


def test_the_demo_password_is_still_strong_enough(people):
    assert services.create_user(f"{unique('pw')}@acme.test", PASSWORD, "tenant_admin", "acme")


def test_an_outdated_hash_is_replaced_at_sign_in(people):
    outdated = make_password(PASSWORD, salt="ab")  # too little salt: the hasher asks for a new hash
    user = services.create_user(
        f"{unique('pw')}@acme.test", "", "tenant_admin", "acme", hashed_password=outdated
    )
    response = Client().post("/login/", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    stored = queries.get_user(user.user_id).password
    assert stored != outdated and check_password(PASSWORD, stored)


def test_the_csrf_token_changes_at_sign_in(people):
    user = services.create_user(f"{unique('pw')}@acme.test", PASSWORD, "tenant_admin", "acme")
    client = Client(enforce_csrf_checks=True)
    client.get("/login/")
    before = client.cookies["csrftoken"].value
    response = client.post(
        "/login/", {"email": user.email, "password": PASSWORD, "csrfmiddlewaretoken": before}
    )
    assert response.status_code == 302
    assert response.cookies["csrftoken"].value not in ("", before)
