"""What of a tenant flows keeps, for staff's export and erase (dashboard.operations.erasure): every
item carries `tenant_id`."""

from __future__ import annotations

from dashboard.dynamo.erase import TenantTable
from dashboard.flows.models import Flow, FlowEdge, FlowNode, FlowSnapshot, NodeConfig, Project


def tenant_tables() -> list[TenantTable]:
    return [
        TenantTable("flow-snapshots", FlowSnapshot, lambda t: FlowSnapshot.tenant_id == t),
        TenantTable("flow-edges", FlowEdge, lambda t: FlowEdge.tenant_id == t),
        TenantTable("flow-nodes", FlowNode, lambda t: FlowNode.tenant_id == t),
        TenantTable("flows", Flow, lambda t: Flow.tenant_id == t),
        TenantTable("node-configs", NodeConfig, lambda t: NodeConfig.tenant_id == t),
        TenantTable("projects", Project, lambda t: Project.tenant_id == t),
    ]
