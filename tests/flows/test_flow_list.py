"""The flows page: a tenant's projects and flows."""

from dashboard.accounts import services as accounts
from tests.conftest import PASSWORD, client_for, unique
from tests.flows.conftest import build_flow


def test_a_tenant_admin_sees_their_projects_and_flows(acme_admin, acme_flow):
    response = acme_admin.get("/flows/")
    assert response.status_code == 200
    body = response.content.decode()
    assert acme_flow.flow.name in body and acme_flow.project.name in body
    assert f"/flows/{acme_flow.flow_id}/" in body


def test_it_never_lists_another_tenants_flows(acme_admin, globex_flow):
    body = acme_admin.get("/flows/").content.decode()
    assert globex_flow.flow_id not in body and globex_flow.project.name not in body


def test_choosing_a_project_shows_only_its_flows_as_a_partial(acme_admin, acme_flow):
    other = build_flow("acme", name="Other project flow")
    response = acme_admin.get(f"/flows/?project={acme_flow.project.project_id}", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="flows"')  # only the list, for htmx to swap in
    assert f"Flows in {acme_flow.project.name}" in body
    assert acme_flow.flow_id in body and other.flow_id not in body


def test_another_tenants_project_gives_404(acme_admin, globex_flow):
    response = acme_admin.get(f"/flows/?project={globex_flow.project.project_id}")
    assert response.status_code == 404


def test_flows_paginate_with_a_next_page_link(people):
    tenant_id = unique("t").replace("_", "-")
    accounts.create_tenant(tenant_id, "Paging tenant")
    admin = accounts.create_user(f"{unique('u')}@paging.test", PASSWORD, "tenant_admin", tenant_id)
    built = [build_flow(tenant_id, name=f"Flow number {index:02d}") for index in range(27)]
    client = client_for(admin)
    first = client.get("/flows/").content.decode()
    assert first.count('href="/flows/flw_') == 25 and "Next page" in first
    cursor = first.split("?cursor=")[1].split('"')[0]
    second = client.get(f"/flows/?cursor={cursor}").content.decode()
    assert second.count('href="/flows/flw_') == 2 and "Next page" not in second
    shown = {flow.flow_id for flow in built if flow.flow_id in first + second}
    assert len(shown) == 27


def test_a_forged_cursor_is_a_clear_400(acme_admin):
    response = acme_admin.get("/flows/?cursor=not-a-cursor")
    assert response.status_code == 400
    assert "not valid any more" in response.content.decode()


def test_staff_without_a_tenant_is_asked_to_pick_one(staff):
    body = staff.get("/flows/").content.decode()
    assert "Pick the tenant" in body and "Acme Robotics" in body


def test_staff_focusing_a_tenant_sees_its_flows(people, acme_flow):
    body = client_for(people["staff"], _tenant_focus="acme").get("/flows/").content.decode()
    assert acme_flow.flow_id in body


def test_moderators_may_not_open_flows(moderator):
    assert moderator.get("/flows/").status_code == 403


def test_signed_out_people_are_sent_to_login():
    from django.test import Client

    response = Client().get("/flows/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
