import json
import re

from dashboard.audit.models import AuditEvent
from dashboard.marketplace.models import AgentTemplate
from tests.conftest import client_for
from tests.marketplace.conftest import DEFINITION, word


def form_data(**overrides) -> dict:
    data = {
        "name": f"Lead enrichment {word()}",
        "description": "Looks up a lead and writes a summary.",
        "category": "sales",
        "tags": "crm, leads",
        "visibility": "private",
        "definition": json.dumps(DEFINITION),
    }
    data.update(overrides)
    return data


def templates_named(tenant_id: str, name: str) -> list[AgentTemplate]:
    return [
        t
        for t in AgentTemplate.by_tenant.query(tenant_id, scan_index_forward=False, limit=200)
        if t.name == name
    ]


def test_a_tenant_admin_creates_a_private_template(acme_admin):
    data = form_data()
    response = acme_admin.post("/templates/new/", data)
    assert response.status_code == 302
    [template] = templates_named("acme", data["name"])
    assert response["Location"] == f"/templates/{template.template_id}/"
    assert template.moderation_status == "draft" and not template.is_listed
    assert template.tag_list == ["crm", "leads"] and template.definition["nodes"][2]["type"] == "llm"
    events = list(AuditEvent.query("acme", scan_index_forward=False, limit=20))
    assert any(e.action == "template.create" and e.target_id == template.template_id for e in events)


def test_choosing_public_puts_it_in_the_moderation_queue(acme_admin):
    data = form_data(visibility="public")
    acme_admin.post("/templates/new/", data)
    [template] = templates_named("acme", data["name"])
    assert template.moderation_status == "pending" and template.submitted_at is not None
    assert not template.is_listed


def test_bad_flow_json_gives_field_level_errors_and_writes_nothing(acme_admin):
    definition = {
        "nodes": [{"id": "n1", "type": "llm"}, {"id": "n1", "type": "teleporter"}],
        "edges": [{"source": "n1", "target": "ghost"}],
    }
    data = form_data(definition=json.dumps(definition), category="")
    response = acme_admin.post("/templates/new/", data)
    html = response.content.decode()
    assert response.status_code == 422
    assert "nodes[1].type: “teleporter” is not a known node type" in html
    assert "Choose one of" in html  # the category
    assert templates_named("acme", data["name"]) == []
    response = acme_admin.post(
        "/templates/new/",
        form_data(
            definition=json.dumps(
                {
                    **DEFINITION,
                    "nodes": [{"id": "a", "type": "llm"}, {"id": "a", "type": "llm"}],
                    "edges": [{"source": "a", "target": "zz"}],
                }
            )
        ),
    )
    html = response.content.decode()
    assert "duplicate node id “a”" in html and "edges[0].target: no node has the id “zz”" in html


def test_text_that_is_not_json_is_reported_on_the_definition_field(acme_admin):
    data = form_data(definition="{nodes: [")
    html = acme_admin.post("/templates/new/", data).content.decode()
    assert re.search(r'class="field has-error">\s*<label for="id_definition">', html)
    assert "Not valid JSON" in html
    assert templates_named("acme", data["name"]) == []


def test_a_moderator_cannot_create_templates(moderator):
    assert moderator.get("/templates/new/").status_code == 403
    assert moderator.post("/templates/new/", form_data()).status_code == 403


def test_staff_must_pick_a_tenant_before_creating(people):
    data = form_data()
    response = client_for(people["staff"]).post("/templates/new/", data)
    assert "Choose a tenant in the switcher" in response.content.decode()
    assert templates_named("acme", data["name"]) == [] and templates_named("globex", data["name"]) == []
    response = client_for(people["staff"], _tenant_focus="globex").post("/templates/new/", data)
    assert response.status_code == 302 and len(templates_named("globex", data["name"])) == 1


def test_an_edit_saves_a_new_version(acme_admin, make_template):
    template = make_template("acme")
    page = acme_admin.get(f"/templates/{template.template_id}/edit/").content.decode()
    assert f'name="version" value="{template.version}"' in page
    response = acme_admin.post(
        f"/templates/{template.template_id}/edit/",
        form_data(name="Renamed template", version=template.version),
    )
    assert response.status_code == 302
    stored = AgentTemplate.get(template.template_id)
    assert stored.name == "Renamed template" and stored.version == template.version + 1


def test_the_second_of_two_conflicting_edits_is_refused_and_nothing_is_overwritten(people, make_template):
    template = make_template("acme")
    ada, alan = client_for(people["admin of acme"]), client_for(people["admin of acme"])
    version = template.version
    first = ada.post(
        f"/templates/{template.template_id}/edit/", form_data(name="Ada's name", version=version)
    )
    second = alan.post(
        f"/templates/{template.template_id}/edit/", form_data(name="Alan's name", version=version)
    )
    assert first.status_code == 302
    assert second.status_code == 409
    assert "Someone else changed this template" in second.content.decode()
    assert 'value="Alan&#x27;s name"' in second.content.decode()  # their input is kept to copy
    assert AgentTemplate.get(template.template_id).name == "Ada's name"


def test_editing_a_listed_template_sends_it_back_to_review(acme_admin, make_template):
    template = make_template("acme", state="approved")
    acme_admin.post(
        f"/templates/{template.template_id}/edit/", form_data(visibility="public", version=template.version)
    )
    stored = AgentTemplate.get(template.template_id)
    assert stored.moderation_status == "pending" and not stored.is_listed


def test_another_tenant_cannot_edit_or_delete(globex_admin, make_template):
    private = make_template("acme")
    public = make_template("acme", state="approved")
    assert globex_admin.get(f"/templates/{private.template_id}/edit/").status_code == 404
    assert (
        globex_admin.post(f"/templates/{private.template_id}/edit/", form_data(version=1)).status_code == 404
    )
    assert (
        globex_admin.post(f"/templates/{public.template_id}/edit/", form_data(version=3)).status_code == 403
    )
    assert globex_admin.post(f"/templates/{public.template_id}/delete/").status_code == 403
    assert AgentTemplate.get(public.template_id).name == public.name


def test_the_owner_deletes_a_template(acme_admin, make_template):
    template = make_template("acme", state="approved")
    response = acme_admin.post(f"/templates/{template.template_id}/delete/", {"version": template.version})
    assert response.status_code == 302
    assert acme_admin.get(f"/templates/{template.template_id}/").status_code == 404
    html = acme_admin.get("/templates/", {"q": template.name.split()[-1]}).content.decode()
    assert template.template_id not in html


def test_submit_and_withdraw_move_a_template_in_and_out_of_review(acme_admin, make_template):
    template = make_template("acme")
    acme_admin.post(f"/templates/{template.template_id}/submit/", {"version": template.version})
    assert AgentTemplate.get(template.template_id).moderation_status == "pending"
    stored = AgentTemplate.get(template.template_id)
    acme_admin.post(f"/templates/{template.template_id}/withdraw/", {"version": stored.version})
    stored = AgentTemplate.get(template.template_id)
    assert stored.moderation_status == "draft" and stored.visibility == "private"
