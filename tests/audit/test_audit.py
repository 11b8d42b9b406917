from dashboard.accounts.access import scope_for_user
from dashboard.audit import services as audit
from tests.conftest import client_for, unique


def record_for(user, tenant_id: str) -> str:
    target = unique("thing")
    audit.record(
        scope_for_user(user), "thing.update", "thing", target, tenant_id=tenant_id, changes={"colour": "blue"}
    )
    return target


def test_a_tenant_admin_sees_their_tenants_events_only(people, acme_admin):
    mine = record_for(people["admin of acme"], "acme")
    theirs = record_for(people["admin of globex"], "globex")
    html = acme_admin.get("/account/audit/").content.decode()
    assert mine in html and "colour" in html
    assert theirs not in html


def test_staff_see_every_tenants_events_this_month(people, staff):
    acme_event = record_for(people["admin of acme"], "acme")
    globex_event = record_for(people["admin of globex"], "globex")
    html = staff.get("/account/audit/").content.decode()
    assert acme_event in html and globex_event in html


def test_staff_focused_on_one_tenant_see_only_that_tenant(people):
    acme_event = record_for(people["admin of acme"], "acme")
    globex_event = record_for(people["admin of globex"], "globex")
    html = client_for(people["staff"], _tenant_focus="globex").get("/account/audit/").content.decode()
    assert globex_event in html and acme_event not in html


def test_signing_in_is_recorded(people, acme_admin):
    from django.test import Client

    from tests.conftest import PASSWORD

    Client().post("/login/", {"email": "admin@acme.test", "password": PASSWORD}, REMOTE_ADDR=unique("ip"))
    assert "session.login" not in acme_admin.get("/account/audit/").content.decode()  # hidden by default
    html = acme_admin.get("/account/audit/", {"signins": "show"}).content.decode()
    assert "session.login" in html


def test_the_audit_trail_pages_with_a_cursor(people):
    user = people["admin of acme"]
    tenant = unique("tenant").replace("_", "-")[:30]
    from dashboard.accounts.services import create_tenant

    create_tenant(tenant, "Paging Co")
    targets = [record_for(user, tenant) for _ in range(55)]
    client = client_for(people["staff"], _tenant_focus=tenant)
    first = client.get("/account/audit/").content.decode()
    assert targets[-1] in first and targets[0] not in first
    cursor = first.split("cursor=")[1].split('"')[0].replace("&amp;", "&")
    second = client.get(f"/account/audit/?cursor={cursor}", HTTP_HX_REQUEST="true").content.decode()
    assert targets[0] in second and targets[-1] not in second
    assert "<html" not in second  # the htmx request gets only the partial


def test_a_forged_cursor_is_a_clear_400(staff):
    response = staff.get("/account/audit/?cursor=not-a-real-cursor")
    assert response.status_code == 400
    assert b"page link is not valid" in response.content
