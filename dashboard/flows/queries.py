"""The flows area's reads: projects, flows, their nodes, edges and snapshots, node configurations,
and a flow's graph as a template's definition. Key and GSI queries only, one per list; a node's
configuration lives in flow-node-configs under the same (flow_id, node_id) key as the node itself,
so a page of nodes finds its configs with one range query. Other areas read flows here."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

from pynamodb.exceptions import DoesNotExist

from dashboard.accounts.queries import get_in_scope
from dashboard.core.errors import NotFound, ValidationFailed
from dashboard.core.scope import AccessScope, Can
from dashboard.dynamo.paging import Page, paginate
from dashboard.flows.definition import MAX_EDGES, MAX_NODES, SecretInput, StoredFlow, strip_secrets
from dashboard.flows.models import Flow, FlowEdge, FlowNode, FlowSnapshot, NodeConfig, Project
from dashboard.flows.node_schemas import SCHEMAS
from dashboard.flows.node_types import SECRET_MASK, ConfigError, NodeType, get_node_type

VALID = "valid"
INVALID = "invalid"
DEFAULT = "default"  # nothing stored: the node runs with its type's defaults


# --- projects and flows -------------------------------------------------------------------------


def list_projects(scope: AccessScope, *, cursor: str | None = None, limit: int = 50) -> Page[Project]:
    scope.require(Can.TENANT_DATA)
    tenant_id = scope.require_tenant()
    query = partial(Project.by_tenant.query, tenant_id, scan_index_forward=False)
    return paginate(query, purpose=f"flows:projects:{tenant_id}", limit=limit, cursor=cursor)


def get_project(scope: AccessScope, project_id: str) -> Project:
    scope.require(Can.TENANT_DATA)
    return get_in_scope(scope, Project, project_id, what="That project")


def list_flows(
    scope: AccessScope, *, project: Project | None = None, cursor: str | None = None, limit: int = 25
) -> Page[Flow]:
    """The tenant's flows, newest change first; only `project`'s (from get_project) when given."""
    scope.require(Can.TENANT_DATA)
    if project is not None:
        scope.check_tenant(project.tenant_id, "That project")
        query = partial(Flow.by_project.query, project.project_id, scan_index_forward=False)
        return paginate(query, purpose=f"flows:project:{project.project_id}", limit=limit, cursor=cursor)
    tenant_id = scope.require_tenant()
    query = partial(Flow.by_tenant.query, tenant_id, scan_index_forward=False)
    return paginate(query, purpose=f"flows:tenant:{tenant_id}", limit=limit, cursor=cursor)


def project_names(project_ids: set[str], known: list[Project]) -> dict[str, str]:
    """Names for the projects a page of flows belongs to: one batch read for any not already loaded."""
    names = {project.project_id: project.name for project in known}
    missing = [project_id for project_id in project_ids if project_id not in names]
    if missing:
        for project in Project.batch_get(missing):
            names[project.project_id] = project.name
    return names


def source_templates(tenant_id: str, flow_ids: set[str]) -> dict[str, str]:
    """The marketplace template each of the tenant's flows was made from (flows made from none, and
    other tenants' flows, are left out): what analytics counts a template's runs by. One BatchGetItem
    per 100 flows. Called by the ingestion of the tenant's own executions (no page scope)."""
    if not flow_ids:
        return {}
    return {
        flow.flow_id: flow.source_template_id
        for flow in Flow.batch_get(
            sorted(flow_ids), attributes_to_get=["flow_id", "tenant_id", "source_template_id"]
        )
        if flow.tenant_id == tenant_id and flow.source_template_id
    }


def get_flow(scope: AccessScope, flow_id: str) -> Flow:
    scope.require(Can.TENANT_DATA)
    return get_in_scope(scope, Flow, flow_id, what="That flow")


# --- nodes, edges, snapshots --------------------------------------------------------------------


@dataclass
class NodeState:
    """A node with its configuration as it stands: stored (valid or not) or its type's defaults."""

    node: FlowNode
    stored: NodeConfig | None
    node_type: NodeType | None  # None when the node names a type the catalogue does not know
    errors: list[ConfigError] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.node_type is None or self.errors:
            return INVALID
        return VALID if self.stored is not None else DEFAULT

    @property
    def version(self) -> int:
        return self.stored.version if self.stored is not None and self.stored.version else 0

    @property
    def config(self) -> dict[str, Any]:
        """The effective configuration, secrets in clear: for services only, never for display."""
        if self.stored is not None:
            return self.stored.config
        return self.node_type.defaults() if self.node_type else {}

    @property
    def masked_config(self) -> Any:
        if self.node_type is None or not isinstance(self.config, dict):
            return self.config
        return self.node_type.mask_secrets(self.config)

    def as_dict(self) -> dict[str, Any]:
        return {
            "flow_id": self.node.flow_id,
            "node_id": self.node.node_id,
            "node_type": self.node.node_type,
            "label": self.node.label,
            "status": self.status,
            "version": self.version,
            "config": self.masked_config,
            "errors": [error.as_dict() for error in self.errors],
            "updated_at": self.stored.updated_at.isoformat() if self.stored else None,
            "updated_by": self.stored.updated_by if self.stored else None,
        }


def _state(node: FlowNode, stored: NodeConfig | None) -> NodeState:
    try:
        node_type = get_node_type(node.node_type)
    except NotFound as exc:
        return NodeState(node, stored, None, [ConfigError("$", exc.message)])
    errors = node_type.validate(stored.config) if stored is not None else []
    return NodeState(node, stored, node_type, errors)


def list_nodes(
    scope: AccessScope, flow: Flow, *, cursor: str | None = None, limit: int = 50
) -> Page[NodeState]:
    """A page of the flow's nodes, each with its configuration status (two queries per page)."""
    scope.check_tenant(flow.tenant_id, "That flow")
    query = partial(FlowNode.query, flow.flow_id)
    page = paginate(query, purpose=f"flows:nodes:{flow.flow_id}", limit=limit, cursor=cursor)
    configs: dict[str, NodeConfig] = {}
    if page.items:
        first, last = page.items[0].node_id, page.items[-1].node_id
        for config in NodeConfig.query(flow.flow_id, NodeConfig.node_id.between(first, last)):
            configs[config.node_id] = config
    states = [_state(node, configs.get(node.node_id)) for node in page.items]
    return Page(items=states, next_cursor=page.next_cursor)


def list_edges(
    scope: AccessScope, flow: Flow, *, cursor: str | None = None, limit: int = 50
) -> Page[FlowEdge]:
    scope.check_tenant(flow.tenant_id, "That flow")
    query = partial(FlowEdge.query, flow.flow_id)
    return paginate(query, purpose=f"flows:edges:{flow.flow_id}", limit=limit, cursor=cursor)


def list_snapshots(
    scope: AccessScope, flow: Flow, *, cursor: str | None = None, limit: int = 10
) -> Page[FlowSnapshot]:
    """Newest version first."""
    scope.check_tenant(flow.tenant_id, "That flow")
    query = partial(FlowSnapshot.query, flow.flow_id, scan_index_forward=False)
    return paginate(query, purpose=f"flows:snapshots:{flow.flow_id}", limit=limit, cursor=cursor)


# --- one node's configuration -------------------------------------------------------------------


def get_node_state(scope: AccessScope, flow_id: str, node_id: str, *, editable: bool = False) -> NodeState:
    """The node and its configuration; `editable` also requires a node type the catalogue knows."""
    scope.require(Can.TENANT_DATA)
    node = get_in_scope(scope, FlowNode, flow_id, node_id, what="That node")
    try:
        stored = NodeConfig.get(flow_id, node_id, consistent_read=True)
    except DoesNotExist:
        stored = None
    state = _state(node, stored)
    if editable and state.node_type is None:
        raise NotFound(state.errors[0].message)
    return state


def catalogue_entry(node_type: NodeType) -> dict[str, Any]:
    """A node type as the API describes it."""
    return {
        "type": node_type.name,
        "label": node_type.label,
        "description": node_type.description,
        "schema": SCHEMAS[node_type.name],
        "defaults": node_type.defaults(),
        "ui": {
            "order": list(node_type.ui.order),
            "secrets": list(node_type.ui.secrets),
            "widgets": {spec.name: spec.widget for spec in node_type.fields()},
            "secret_mask": SECRET_MASK,
        },
    }


# --- a flow as a template's definition ----------------------------------------------------------


def flow_parts(flow: Flow) -> StoredFlow:
    """The flow's nodes, edges and node settings (three queries), refused past the definition's caps."""
    nodes = list(FlowNode.query(flow.flow_id, limit=MAX_NODES + 1))
    edges = list(FlowEdge.query(flow.flow_id, limit=MAX_EDGES + 1))
    if len(nodes) > MAX_NODES or len(edges) > MAX_EDGES:
        raise ValidationFailed(
            f"Only flows of at most {MAX_NODES} nodes and {MAX_EDGES} edges can become templates.",
            {"flow": "too many nodes or edges"},
        )
    configs = {config.node_id: config for config in NodeConfig.query(flow.flow_id)}
    return StoredFlow(flow, nodes, edges, configs)


def flow_definition(scope: AccessScope, flow: Flow) -> dict[str, Any]:
    """The flow's graph with each node's stored settings, secrets in clear: for services only."""
    scope.check_tenant(flow.tenant_id, "That flow")
    parts = flow_parts(flow)
    nodes, edges, configs = parts.nodes, parts.edges, parts.configs
    definition: dict[str, Any] = {"nodes": [], "edges": []}
    for node in nodes:
        item: dict[str, Any] = {"id": node.node_id, "type": node.node_type}
        if node.label:
            item["label"] = node.label[:80]
        item["position"] = {"x": max(0, int(node.position_x or 0)), "y": max(0, int(node.position_y or 0))}
        stored = configs.get(node.node_id)
        if stored is not None and isinstance(stored.config, dict) and stored.config:
            item["config"] = stored.config
        definition["nodes"].append(item)
    for edge in edges:
        item = {"id": edge.edge_id, "source": edge.source, "target": edge.target}
        if edge.label:
            item["label"] = edge.label[:80]
        definition["edges"].append(item)
    return definition


def template_definition(scope: AccessScope, flow: Flow) -> tuple[dict[str, Any], list[SecretInput]]:
    """What a template made from the flow holds: graph and settings, secrets out and listed as inputs."""
    return strip_secrets(flow_definition(scope, flow))


def latest_snapshot(flow: Flow) -> FlowSnapshot | None:
    """The flow's newest snapshot (one query)."""
    return next(iter(FlowSnapshot.query(flow.flow_id, scan_index_forward=False, limit=1)), None)


def base_definition(flow: Flow) -> dict[str, Any] | None:
    """The template definition the flow was made from or last updated to: its latest snapshot's."""
    latest = next(iter(FlowSnapshot.query(flow.flow_id, scan_index_forward=False, limit=1)), None)
    return latest.definition if latest is not None else None
