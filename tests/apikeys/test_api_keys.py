import hashlib
import re
from datetime import timedelta

import pytest
from django.test import Client

from dashboard.apikeys import services as api_limits
from dashboard.apikeys.models import ApiKey
from dashboard.core import clock


def create_key(staff, tenant_id="acme", name="support agent", expires_on="") -> str:
    response = staff.post(
        "/account/api-keys/", {"tenant_id": tenant_id, "name": name, "expires_on": expires_on}
    )
    assert response.status_code == 200
    match = re.search(r'<pre class="token" id="new-token"[^>]*>([^<]+)</pre>', response.content.decode())
    assert match, "the new key is shown on the page"
    return match.group(1)


def test_staff_create_a_key_that_is_shown_once_and_stored_hashed(staff):
    token = create_key(staff, name="billing agent")
    key_id, secret = token.split(".")[1:]
    stored = ApiKey.get(key_id)
    assert stored.tenant_id == "acme" and stored.name == "billing agent"
    assert stored.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(stored.attribute_values)
    assert token not in staff.get("/account/api-keys/").content.decode()


def test_a_key_authenticates_the_json_api_for_its_tenant(staff):
    token = create_key(staff, tenant_id="globex")
    response = Client().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert response.json()["tenant_id"] == "globex"


@pytest.mark.parametrize(
    "header", [None, "Bearer nonsense", "Bearer dtk.key_missing.secret", "Basic abc", "Bearer dtk..x"]
)
def test_the_api_answers_401_in_json_without_a_valid_key(people, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = Client().get("/api/me", **extra)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert "Bearer" in response.json()["error"]["message"]


def test_a_wrong_secret_for_a_real_key_is_refused(staff):
    token = create_key(staff)
    forged = token[:-4] + ("aaaa" if not token.endswith("aaaa") else "bbbb")
    assert Client().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {forged}").status_code == 401


def test_revoking_asks_first_naming_the_key_and_its_tenant(staff):
    token = create_key(staff, tenant_id="globex", name="nightly trainer")
    key_id = token.split(".")[1]
    page = staff.get("/account/api-keys/").content.decode()
    assert f'href="/account/api-keys/{key_id}/revoke/"' in page  # a link to the question, not a POST
    question = staff.get(f"/account/api-keys/{key_id}/revoke/")
    assert question.status_code == 200
    text = question.content.decode()
    assert "Revoke “nightly trainer” of Globex" in text and key_id in text
    assert ApiKey.get(key_id).revoked_at is None  # asking changed nothing
    assert Client().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


def test_a_revoke_posted_without_the_question_is_refused_and_the_key_keeps_working(staff):
    token = create_key(staff, name="pipeline kept")
    key_id = token.split(".")[1]
    body = staff.post(f"/account/api-keys/{key_id}/revoke/", follow=True).content.decode()
    assert "needs confirming first: nothing was changed" in body
    assert "Revoke “pipeline kept”" in body  # landed on the question
    assert ApiKey.get(key_id).revoked_at is None
    assert Client().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


def test_a_revoked_key_stops_working(staff):
    token = create_key(staff)
    key_id = token.split(".")[1]
    response = staff.post(f"/account/api-keys/{key_id}/revoke/", {"confirmed": "1"})
    assert response.status_code == 302
    assert Client().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_a_key_needs_a_name(staff):
    response = staff.post("/account/api-keys/", {"tenant_id": "acme", "name": "  "})
    assert b"This field is required" in response.content or b"needs a name" in response.content
    assert b'id="new-token"' not in response.content


def test_an_unknown_api_path_answers_json_404(people):
    response = Client().get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_revoking_an_unknown_key_is_404(staff):
    assert staff.post("/account/api-keys/key_nope/revoke/").status_code == 404


def test_a_key_with_an_expiry_works_through_that_day_then_answers_401_saying_it_expired(staff, monkeypatch):
    today = clock.now().date()
    token = create_key(staff, name="temp agent", expires_on=today.isoformat())
    assert Client().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    page = staff.get("/account/api-keys/").content.decode()
    assert today.strftime("%b %-d, %Y") in page
    tomorrow = clock.now() + timedelta(days=1)
    monkeypatch.setattr(clock, "now", lambda: tomorrow)
    response = Client().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "key_expired"
    assert f"expired on {today.isoformat()}" in error["message"]


@pytest.mark.parametrize("days", [-1, 6 * 366])
def test_an_expiry_in_the_past_or_too_far_ahead_is_refused_inline(staff, days):
    day = (clock.now() + timedelta(days=days)).date().isoformat()
    response = staff.post("/account/api-keys/", {"tenant_id": "acme", "name": "x", "expires_on": day})
    assert response.status_code == 200
    assert b"at most five years ahead" in response.content
    assert b'id="new-token"' not in response.content


def test_the_page_shows_each_keys_last_use_and_requests_over_7_days(staff):
    token = create_key(staff, tenant_id="globex", name=f"busy agent {id(staff)}")
    key_id = token.split(".")[1]
    for _ in range(3):
        api_limits.take(key_id)
    page = staff.get("/account/api-keys/").content.decode()
    row = re.search(rf"<tr>\s*<td>busy agent {id(staff)}</td>.*?</tr>", page, re.S).group(0)
    assert '<span class="usage-total">3</span>' in row
    assert "not in 7 days" not in row and "<time" in row
    assert row.count("<li>") == 7


def test_an_expired_key_is_refused_by_the_otlp_receiver_too_never_a_500(staff, monkeypatch):
    token = create_key(staff, name="otel exporter", expires_on=clock.now().date().isoformat())
    tomorrow = clock.now() + timedelta(days=1)
    monkeypatch.setattr(clock, "now", lambda: tomorrow)
    response = Client().post(
        "/api/otel/v1/traces",
        data="{}",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 401
    assert "expired" in response.content.decode()
