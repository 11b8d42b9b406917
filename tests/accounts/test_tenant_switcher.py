from django.test import Client

from tests.conftest import client_for


def test_staff_switch_to_one_tenant_and_back_to_all(people):
    client = client_for(people["staff"])
    response = client.post("/account/tenant/", {"tenant_id": "globex", "next": "/account/audit/"})
    assert response.status_code == 302 and response["Location"] == "/account/audit/"
    assert b'<option value="globex" selected>' in client.get("/").content
    client.post("/account/tenant/", {"tenant_id": ""})
    assert b"You are looking at every tenant" in client.get("/").content


def test_switching_to_an_unknown_tenant_is_404(staff):
    assert staff.post("/account/tenant/", {"tenant_id": "umbrella"}).status_code == 404


def test_a_tenant_admin_cannot_switch_tenant(acme_admin):
    assert acme_admin.post("/account/tenant/", {"tenant_id": "globex"}).status_code == 403
    assert b'class="tenant-chip"' in acme_admin.get("/").content


def test_posts_without_a_csrf_token_are_refused(people):
    client = Client(enforce_csrf_checks=True)
    client.cookies.load(client_for(people["staff"]).cookies)
    assert client.post("/account/tenant/", {"tenant_id": "globex"}).status_code == 403
