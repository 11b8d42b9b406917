import pytest

from dashboard.accounts import services
from dashboard.accounts.models import SessionItem
from tests.conftest import PASSWORD, client_for, unique


def test_staff_see_platform_people_and_each_tenants_admins(staff):
    html = staff.get("/account/users/").content.decode()
    for email in ("staff@diatonic.test", "moderator@diatonic.test", "admin@acme.test", "admin@globex.test"):
        assert email in html


def test_staff_disable_someone_and_their_sessions_end(staff):
    user = services.create_user(f"{unique('u')}@acme.test", PASSWORD, "tenant_admin", "acme")
    their_browser = client_for(user)
    response = staff.post(f"/account/users/{user.user_id}/active/", {"active": "0"}, follow=True)
    assert "sessions have ended" in response.content.decode()
    assert list(SessionItem.by_user.query(user.user_id)) == []
    assert their_browser.get("/").status_code == 302
    staff.post(f"/account/users/{user.user_id}/active/", {"active": "1"})
    assert services.get_user(user.user_id).is_active


def test_staff_cannot_disable_themselves(people, staff):
    me = people["staff"]
    response = staff.post(f"/account/users/{me.user_id}/active/", {"active": "0"}, follow=True)
    assert "cannot disable your own account" in response.content.decode()
    assert services.get_user(me.user_id).is_active


def test_disabling_an_unknown_user_is_404(staff):
    assert staff.post("/account/users/usr_nobody/active/", {"active": "0"}).status_code == 404


def test_a_tenant_admin_cannot_disable_anyone(people, acme_admin):
    target = people["admin of globex"]
    assert acme_admin.post(f"/account/users/{target.user_id}/active/", {"active": "0"}).status_code == 403
    assert services.get_user(target.user_id).is_active


@pytest.mark.browser
def test_in_the_browser_staff_disable_and_enable_a_person(page_as, people):
    user = services.create_user(f"{unique('b')}@globex.test", PASSWORD, "tenant_admin", "globex")
    page = page_as(people["staff"])
    page.goto("/account/users/")
    page.locator("tr", has_text=user.email).locator("text=Disable").click()
    assert "sessions have ended" in page.locator(".flash").inner_text()
    assert page.locator("tr", has_text=user.email).locator(".badge").inner_text() == "disabled"
    page.locator("tr", has_text=user.email).locator("text=Enable").click()
    assert page.locator("tr", has_text=user.email).locator(".badge").inner_text() == "active"
