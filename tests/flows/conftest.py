"""Flows of the test tenants, each with one node per node type, built with unique ids."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from dashboard.accounts import api_keys
from dashboard.accounts.access import scope_for_user
from dashboard.core import clock
from dashboard.flows.models import Flow, FlowEdge, FlowNode, FlowSnapshot, NodeConfig, Project
from dashboard.flows.node_types import NODE_TYPES
from tests.conftest import unique


@dataclass
class BuiltFlow:
    project: Project
    flow: Flow
    nodes: dict[str, FlowNode]  # node type -> node

    @property
    def flow_id(self) -> str:
        return self.flow.flow_id

    def node_id(self, node_type: str) -> str:
        return self.nodes[node_type].node_id

    def config_url(self, node_type: str) -> str:
        return f"/flows/{self.flow_id}/nodes/{self.node_id(node_type)}/"

    def api_url(self, node_type: str) -> str:
        return f"/api/flows/{self.flow_id}/nodes/{self.node_id(node_type)}/config"


def build_flow(tenant_id: str, name: str = "Support triage", configs: dict | None = None) -> BuiltFlow:
    """A flow with one node per type, in catalogue order, chained by edges; `configs` are stored as saved."""
    now = clock.now()
    project = Project(
        project_id=unique("prj"), tenant_id=tenant_id, name=f"Project {name}", created_at=now, updated_at=now
    )
    project.save()
    flow = Flow(
        flow_id=unique("flw"),
        project_id=project.project_id,
        tenant_id=tenant_id,
        name=name,
        description=f"{name} flow",
        node_count=len(NODE_TYPES),
        edge_count=len(NODE_TYPES) - 1,
        created_at=now,
        updated_at=now,
    )
    flow.save()
    nodes = {}
    for index, node_type in enumerate(NODE_TYPES):
        node = FlowNode(
            flow_id=flow.flow_id,
            node_id=f"n{index + 1:02d}",
            tenant_id=tenant_id,
            node_type=node_type,
            label=f"{node_type.replace('_', ' ').title()} step",
        )
        node.save()
        nodes[node_type] = node
    ids = [node.node_id for node in nodes.values()]
    for index in range(len(ids) - 1):
        FlowEdge(
            flow_id=flow.flow_id,
            edge_id=f"e{index + 1}",
            tenant_id=tenant_id,
            source=ids[index],
            target=ids[index + 1],
        ).save()
    FlowSnapshot(
        flow_id=flow.flow_id,
        version=1,
        tenant_id=tenant_id,
        definition={"nodes": ids, "edges": []},
        note="First draft",
        created_at=now,
    ).save()
    for node_type, config in (configs or {}).items():
        NodeConfig(
            flow_id=flow.flow_id,
            node_id=nodes[node_type].node_id,
            tenant_id=tenant_id,
            node_type=node_type,
            config=config,
            updated_by="seed@acme.test",
            updated_at=now,
        ).save()
    return BuiltFlow(project, flow, nodes)


@pytest.fixture
def acme_flow(people) -> BuiltFlow:
    return build_flow("acme")


@pytest.fixture
def globex_flow(people) -> BuiltFlow:
    return build_flow("globex", name="Globex secrets")


@pytest.fixture(scope="session")
def api_tokens(people) -> dict[str, str]:
    """One API key per test tenant, as `Authorization` header values."""
    staff = scope_for_user(people["staff"])
    return {
        tenant: f"Bearer {api_keys.create_key(staff, tenant, f'flows tests {tenant}').token}"
        for tenant in ("acme", "globex")
    }
