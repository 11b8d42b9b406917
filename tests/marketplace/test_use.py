from concurrent.futures import ThreadPoolExecutor

from dashboard.flows.models import Flow, FlowEdge, FlowNode
from dashboard.marketplace.models import AgentTemplate


def flows_from(project_id: str, template_id: str) -> list[Flow]:
    return [f for f in Flow.by_project.query(project_id, limit=500) if f.source_template_id == template_id]


def test_use_creates_a_flow_with_its_nodes_and_edges_and_counts_it(acme_admin, make_template, project_of):
    template = make_template("globex", state="approved")
    project = project_of("acme")
    response = acme_admin.post(
        f"/templates/{template.template_id}/use/", {"project_id": project.project_id, "name": "My triage"}
    )
    assert response.status_code == 302
    [flow] = flows_from(project.project_id, template.template_id)
    assert response["Location"] == f"/flows/{flow.flow_id}/"  # straight to the new flow
    assert flow.tenant_id == "acme" and flow.name == "My triage" and flow.node_count == 4
    nodes = {n.node_id: n.node_type for n in FlowNode.query(flow.flow_id)}
    assert nodes == {"n1": "prompt", "n2": "retriever", "n3": "llm", "n4": "output"}
    assert {(e.source, e.target) for e in FlowEdge.query(flow.flow_id)} == {
        ("n1", "n2"),
        ("n2", "n3"),
        ("n3", "n4"),
    }
    assert AgentTemplate.get(template.template_id).usage_count == 1


def test_the_detail_page_offers_the_tenants_projects(acme_admin, make_template, project_of):
    project = project_of("acme")
    template = make_template("acme")
    html = acme_admin.get(f"/templates/{template.template_id}/").content.decode()
    assert project.project_id in html and "Create flow" in html


def test_the_usage_count_is_exact_after_50_concurrent_uses(api_client, make_template, project_of):
    template = make_template("acme", state="approved")
    project = project_of("globex")
    client = api_client("globex")

    def use(_):
        return client.post(
            f"/api/templates/{template.template_id}/use",
            {"project_id": project.project_id},
            content_type="application/json",
        ).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(use, range(50)))
    assert statuses == [201] * 50
    assert AgentTemplate.get(template.template_id, consistent_read=True).usage_count == 50
    assert len(flows_from(project.project_id, template.template_id)) == 50


def test_a_project_of_another_tenant_is_refused_and_nothing_is_written(acme_admin, make_template, project_of):
    template = make_template("acme", state="approved")
    theirs = project_of("globex")
    response = acme_admin.post(f"/templates/{template.template_id}/use/", {"project_id": theirs.project_id})
    assert response.status_code == 422
    assert flows_from(theirs.project_id, template.template_id) == []
    assert AgentTemplate.get(template.template_id).usage_count == 0
    assert "Unknown project" in response.content.decode()


def test_another_tenants_private_template_cannot_be_used(globex_admin, make_template, project_of):
    template = make_template("acme")
    project = project_of("globex")
    response = globex_admin.post(
        f"/templates/{template.template_id}/use/", {"project_id": project.project_id}
    )
    assert response.status_code == 404
    assert AgentTemplate.get(template.template_id).usage_count == 0


def test_a_moderator_cannot_use_templates(moderator, make_template):
    template = make_template("acme", state="approved")
    assert moderator.post(f"/templates/{template.template_id}/use/", {"project_id": "x"}).status_code == 403
