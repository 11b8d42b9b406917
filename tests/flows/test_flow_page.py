"""A flow's page: its nodes with each configuration's status, its edges and snapshots."""

import re

from dashboard.flows.models import FlowNode
from tests.conftest import assert_fragment, client_for, element_by_id
from tests.flows.conftest import build_flow


def _status_of(body: str, node_id: str) -> str:
    row = re.search(rf"<code>{node_id}</code>.*?</tr>", body, re.S).group(0)
    return re.search(r'class="badge badge-\w+">(\w+)<', row).group(1)


def test_it_lists_nodes_edges_and_snapshots(acme_admin, acme_flow):
    response = acme_admin.get(f"/flows/{acme_flow.flow_id}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert all(f"<code>{node.node_id}</code>" in body for node in acme_flow.nodes.values())
    # Edges read by the nodes' labels, the ids on hover.
    labels = {node.node_id: node.label for node in acme_flow.nodes.values()}
    first, second = labels["n01"], labels["n02"]
    assert f'<span title="n01">{first}</span> → <span title="n02">{second}</span>' in body
    assert "v1</span> First draft" in body
    assert f"/flows/{acme_flow.flow_id}/nodes/n01/" in body


def test_each_node_shows_valid_invalid_or_default(acme_admin):
    built = build_flow(
        "acme",
        configs={
            "llm": {"provider": "openai", "model": "gpt-4o", "temperature": 0.1, "max_tokens": 100},
            "tool": {"name": "lookup", "timeout_seconds": 900},
        },
    )
    body = acme_admin.get(f"/flows/{built.flow_id}/").content.decode()
    assert _status_of(body, built.node_id("llm")) == "valid"
    assert _status_of(body, built.node_id("tool")) == "invalid"
    assert _status_of(body, built.node_id("prompt")) == "default"
    assert "<code>$.timeout_seconds</code> Must be at most 300." in body


def test_a_node_of_an_unknown_type_shows_as_invalid(acme_admin, acme_flow):
    FlowNode(
        flow_id=acme_flow.flow_id, node_id="n99", tenant_id="acme", node_type="teleport", label="Odd"
    ).save()
    body = acme_admin.get(f"/flows/{acme_flow.flow_id}/").content.decode()
    assert _status_of(body, "n99") == "invalid" and "Unknown node type" in body


def test_nodes_page_as_an_htmx_partial(acme_admin, acme_flow):
    response = acme_admin.get(f"/flows/{acme_flow.flow_id}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="nodes")
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="nodes"') and "Snapshots" not in body


def test_another_tenants_flow_is_not_found(acme_admin, globex_flow):
    response = acme_admin.get(f"/flows/{globex_flow.flow_id}/")
    assert response.status_code == 404
    assert globex_flow.flow.name not in response.content.decode()


def test_an_unknown_flow_is_not_found(acme_admin):
    assert acme_admin.get("/flows/flw_nope/").status_code == 404


def test_staff_may_open_any_tenants_flow(people, globex_flow):
    response = client_for(people["staff"], _tenant_focus="acme").get(f"/flows/{globex_flow.flow_id}/")
    assert response.status_code == 200
    nodes = element_by_id(response.content.decode(), "nodes")
    assert nodes is not None
    assert all(node.label in nodes for node in globex_flow.nodes.values())
    fragment = client_for(people["staff"], _tenant_focus="acme").get(
        f"/flows/{globex_flow.flow_id}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="nodes"
    )
    assert globex_flow.node_id("llm") in assert_fragment(fragment, id="nodes")


def test_moderators_may_not_open_a_flow(moderator, acme_flow):
    assert moderator.get(f"/flows/{acme_flow.flow_id}/").status_code == 403
