"""Flows of the test tenants, each with one node per node type, built with unique ids."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from dashboard.accounts.access import scope_for_user
from dashboard.apikeys import services as api_keys
from dashboard.core import clock
from dashboard.core.scope import STAFF, AccessScope
from dashboard.dynamo.base import transact_write
from dashboard.flows.models import Flow, FlowNode, NodeConfig, Project
from dashboard.flows.node_schemas import NODE_TYPES
from dashboard.flows.services import flow_items
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
    """A flow with one node per type, in catalogue order, chained by edges; `configs` are stored as saved.

    Built by the flows area's own builder, as template use and the demo build theirs."""
    now = clock.now()
    project = Project(
        project_id=unique("prj"), tenant_id=tenant_id, name=f"Project {name}", created_at=now, updated_at=now
    )
    project.save()
    ids = [f"n{index + 1:02d}" for index in range(len(NODE_TYPES))]
    definition = {
        "nodes": [
            {"id": node_id, "type": node_type, "label": f"{node_type.replace('_', ' ').title()} step"}
            for node_id, node_type in zip(ids, NODE_TYPES, strict=True)
        ],
        "edges": [
            {"id": f"e{index + 1}", "source": ids[index], "target": ids[index + 1]}
            for index in range(len(ids) - 1)
        ],
    }
    scope = AccessScope(role=STAFF, actor_id="usr_tests", actor_label="tests", tenant_id=tenant_id)
    items = flow_items(
        scope,
        project,
        name,
        definition,
        "First draft",
        description=f"{name} flow",
        flow_id=unique("flw"),
        at=now,
    )
    with transact_write() as tx:
        for item in items:
            tx.save(item)
    for node_type, config in (configs or {}).items():
        NodeConfig(
            flow_id=items.flow.flow_id,
            node_id=ids[NODE_TYPES.index(node_type)],
            tenant_id=tenant_id,
            node_type=node_type,
            config=config,
            updated_by="seed@acme.test",
            updated_at=now,
        ).save()
    return BuiltFlow(project, items.flow, {node.node_type: node for node in items.nodes})


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
