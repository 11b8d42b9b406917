"""Invitations: tenant admins invite colleagues into their own tenant, staff anyone; a link works once."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.test import Client

from dashboard.accounts import queries, services
from dashboard.accounts.access import scope_for_user
from dashboard.accounts.models import Invitation, User
from dashboard.audit.models import AuditEvent
from dashboard.core import clock
from dashboard.core.errors import Conflict
from tests.conftest import element_by_id, unique

CHOSEN = "velvet-orchard-compass-7"


def invite(client: Client, email: str, role: str = "tenant_admin", tenant: str = ""):
    return client.post("/account/invitations/", {"email": email, "role": role, "tenant": tenant})


def link_of(response) -> str:
    html = response.content.decode()
    start = html.index("/invite/")
    return html[start : html.index('"', start)]


def accept(link: str, password: str = CHOSEN, name: str = "Nia New", client: Client | None = None):
    return (client or Client()).post(link, {"name": name, "password": password, "again": password})


def pending_list(client: Client) -> str:
    return element_by_id(client.get("/account/invitations/").content.decode(), "pending")


def trail(tenant_id: str) -> list[AuditEvent]:
    return list(AuditEvent.query(tenant_id, AuditEvent.sk >= "2000", scan_index_forward=False, limit=50))


def test_a_tenant_admin_invites_a_colleague_who_signs_up_into_their_tenant(acme_admin):
    email = f"{unique('inv')}@acme.test"
    response = invite(acme_admin, email)
    assert response.status_code == 200 and "is invited as Tenant admin" in response.content.decode()
    assert email in acme_admin.get("/account/invitations/").content.decode()
    newcomer = Client()
    assert accept(link_of(response), client=newcomer).status_code == 302
    user = queries.find_user_by_email(email)
    assert (user.role, user.tenant_id, user.name) == ("tenant_admin", "acme", "Nia New")
    assert check_password(CHOSEN, user.password)
    assert newcomer.get("/account/me/").status_code == 200  # signed in
    assert email not in pending_list(acme_admin)  # no longer pending
    actions = {e.action for e in trail("acme") if e.target_type == "invitation"}
    assert {"invitation.create", "invitation.accept"} <= actions


def test_a_tenant_admin_cannot_grant_a_role_they_do_not_have_nor_another_tenant(people):
    scope = scope_for_user(people["admin of acme"])
    for role in ("staff", "moderator"):
        with pytest.raises(services.ValidationFailed):
            services.invite(scope, f"{unique('inv')}@acme.test", role)
    invitation = services.invite(scope, f"{unique('inv')}@acme.test", "tenant_admin", "globex").invitation
    assert invitation.tenant_id == "acme"  # their own tenant, whatever they asked


def test_a_tenant_admins_form_offers_only_the_role_they_may_grant(acme_admin):
    html = acme_admin.get("/account/invitations/").content.decode()
    assert 'value="tenant_admin"' in html and 'value="staff"' not in html and 'id="id_tenant"' not in html
    response = invite(acme_admin, f"{unique('inv')}@acme.test", role="staff")
    assert response.status_code == 422
    assert not list(
        Invitation.by_owner.query("platform", Invitation.created_at >= clock.now() - timedelta(seconds=30))
    )


def test_staff_invite_a_moderator_and_see_every_pending_invitation(staff, acme_admin, globex_admin):
    email = f"{unique('inv')}@diatonic.test"
    response = invite(staff, email, role="moderator")
    assert response.status_code == 200
    acme_email = f"{unique('inv')}@acme.test"
    invite(acme_admin, acme_email)
    page = staff.get("/account/invitations/").content.decode()
    assert email in page and acme_email in page
    assert acme_email not in globex_admin.get("/account/invitations/").content.decode()
    assert email not in acme_admin.get("/account/invitations/").content.decode()
    accept(link_of(response))
    assert queries.find_user_by_email(email).role == "moderator"


def test_a_link_works_once(acme_admin):
    link = link_of(invite(acme_admin, f"{unique('inv')}@acme.test"))
    assert accept(link).status_code == 302
    again = accept(link, password="another-fine-password-9")
    assert again.status_code == 404 and "no longer valid" in again.content.decode()


def test_two_accepts_at_once_make_one_account(people):
    email = f"{unique('inv')}@acme.test"
    created = services.invite(scope_for_user(people["admin of acme"]), email, "tenant_admin")
    _, invitation_id, secret = created.path.strip("/").split("/")

    def one(i: int) -> str:
        try:
            services.accept_invitation(invitation_id, secret, f"Racer {i}", CHOSEN)
        except Conflict:
            return "conflict"
        except services.NotFound:
            return "gone"
        return "created"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(one, range(8)))
    assert outcomes.count("created") == 1
    assert len(list(User.by_email.query(email))) == 1


def test_an_expired_link_no_longer_works(acme_admin, monkeypatch):
    link = link_of(invite(acme_admin, f"{unique('inv')}@acme.test"))
    later = clock.now() + timedelta(days=settings.INVITATION_DAYS, seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert Client().get(link).status_code == 404
    assert accept(link).status_code == 404


def test_a_wrong_secret_is_refused(acme_admin):
    link = link_of(invite(acme_admin, f"{unique('inv')}@acme.test"))
    forged = link.rstrip("/")[:-3] + "abc/"
    assert Client().get(forged).status_code == 404
    assert accept(forged).status_code == 404


def test_a_weak_password_is_refused_and_the_link_still_works(acme_admin):
    email = f"{unique('inv')}@acme.test"
    link = link_of(invite(acme_admin, email))
    response = accept(link, password="password1234")
    assert response.status_code == 422 and "too common" in response.content.decode()
    response = accept(link, password=email)
    assert response.status_code == 422 and "too similar" in response.content.decode()
    assert queries.find_user_by_email(email) is None
    assert accept(link).status_code == 302


def test_an_invitation_revoked_no_longer_works(acme_admin):
    email = f"{unique('inv')}@acme.test"
    link = link_of(invite(acme_admin, email))
    invitation_id = link.split("/")[2]
    assert acme_admin.post(f"/account/invitations/{invitation_id}/revoke/").status_code == 302
    assert email not in pending_list(acme_admin)
    assert accept(link).status_code == 404
    assert "invitation.revoke" in {e.action for e in trail("acme")}


def test_a_tenant_admin_cannot_revoke_another_tenants_invitation(acme_admin, globex_admin):
    link = link_of(invite(acme_admin, f"{unique('inv')}@acme.test"))
    invitation_id = link.split("/")[2]
    assert globex_admin.post(f"/account/invitations/{invitation_id}/revoke/").status_code == 404
    assert accept(link).status_code == 302


def test_nobody_is_invited_twice_over_an_existing_account(acme_admin, people):
    response = invite(acme_admin, "admin@acme.test")
    assert response.status_code == 409 and "already" in response.content.decode()


def test_a_moderator_cannot_invite(moderator):
    assert invite(moderator, f"{unique('inv')}@acme.test").status_code == 403
