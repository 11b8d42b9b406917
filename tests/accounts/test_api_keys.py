import hashlib
import re

import pytest
from django.test import Client

from dashboard.accounts.models import ApiKey


def create_key(staff, tenant_id="acme", name="support agent") -> str:
    response = staff.post("/account/api-keys/", {"tenant_id": tenant_id, "name": name})
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


def test_a_revoked_key_stops_working(staff):
    token = create_key(staff)
    key_id = token.split(".")[1]
    response = staff.post(f"/account/api-keys/{key_id}/revoke/")
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


@pytest.mark.browser
def test_in_the_browser_staff_create_copy_and_revoke_a_key(page_as, people):
    page = page_as(people["staff"])
    page.goto("/account/api-keys/")
    page.select_option("select[name=tenant_id]", "globex")
    name = f"browser agent {id(page)}"
    page.fill("input[name=name]", name)
    page.click("text=Create key")
    token = page.locator("#new-token").inner_text()
    assert token.startswith("dtk.key_")
    assert Client().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    row = page.locator("tr", has_text=name)
    row.locator("text=Revoke").click()
    page.wait_for_url("**/account/api-keys/")
    assert "is revoked" in page.locator(".flash").inner_text()
    assert page.locator("tr", has_text=name).locator(".badge").inner_text() == "revoked"
    assert Client().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401
