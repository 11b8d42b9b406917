"""Projects, flows and node configurations: every read, rule and write of the flows area.

Reads are key or GSI queries, one per list; a node's configuration lives in flow-node-configs under
the same (flow_id, node_id) key as the node itself, so a page of nodes finds its configs with one
range query. Saving a configuration is a conditional write on its version, audited in the same
transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from pynamodb.exceptions import DoesNotExist

from dashboard.accounts import audit
from dashboard.accounts.scope import AccessScope, Can
from dashboard.accounts.tenancy import get_in_scope
from dashboard.core import clock
from dashboard.core.errors import Conflict, NotFound, ValidationFailed
from dashboard.core.ids import new_id
from dashboard.dynamo.item_size import SAFE_ITEM_BYTES, biggest_json_path, check_item_size, json_size
from dashboard.dynamo.paging import Page, paginate
from dashboard.dynamo.transactions import save_together
from dashboard.flows.definition import layout
from dashboard.flows.models import Flow, FlowEdge, FlowNode, FlowSnapshot, NodeConfig, Project
from dashboard.flows.node_catalogue import SECRET_MASK, ConfigError, NodeType, get_node_type
from dashboard.flows.node_types import SCHEMAS

CONFLICT_MESSAGE = (
    "Someone else saved this node's configuration first. Nothing was overwritten: "
    "reload to see their version, then apply your change again."
)

VALID = "valid"
INVALID = "invalid"
DEFAULT = "default"  # nothing stored: the node runs with its type's defaults


class InvalidConfig(ValidationFailed):
    """A configuration that breaks its node type's schema; `errors` lists each JSON path and message."""

    def __init__(self, errors: list[ConfigError]):
        super().__init__(
            "The configuration is not valid: fix the settings marked below.",
            {error.path: error.message for error in errors},
        )
        self.errors = errors


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


def get_flow(scope: AccessScope, flow_id: str) -> Flow:
    scope.require(Can.TENANT_DATA)
    return get_in_scope(scope, Flow, flow_id, what="That flow")


@dataclass
class FlowItems:
    """A new flow's items, not saved: the caller writes them in its own transaction or batch."""

    flow: Flow
    nodes: list[FlowNode]
    edges: list[FlowEdge]
    snapshot: FlowSnapshot

    def __iter__(self):
        yield self.flow
        yield self.snapshot
        yield from self.nodes
        yield from self.edges


def flow_items(
    scope: AccessScope,
    project: Project,
    name: str,
    definition: dict[str, Any],
    note: str,
    *,
    description: str = "",
    source_template_id: str | None = None,
    flow_id: str | None = None,
    at: datetime | None = None,
) -> FlowItems:
    """The flow, nodes, edges and first snapshot a (valid) definition makes, in `project`.

    Nodes keep the label and position the definition gives them; the others get their type's label
    and the column layout's position. The one builder of flows: template use, demo data, tests and
    benchmarks all go through it.
    """
    scope.check_tenant(project.tenant_id, "That project")
    tenant_id = project.tenant_id
    now = at or clock.now()
    flow_id = flow_id or new_id("flw")
    placed = {node.id: node for node in layout(definition).nodes}
    flow = Flow(
        flow_id=flow_id,
        project_id=project.project_id,
        tenant_id=tenant_id,
        name=name,
        description=description,
        source_template_id=source_template_id,
        node_count=len(definition["nodes"]),
        edge_count=len(definition["edges"]),
        created_by=scope.actor_id,
        created_at=now,
        updated_at=now,
    )
    nodes = [
        FlowNode(
            flow_id=flow_id,
            node_id=node["id"],
            tenant_id=tenant_id,
            node_type=node["type"],
            label=node.get("label") or placed[node["id"]].label,
            position_x=node.get("position", {}).get("x", placed[node["id"]].x),
            position_y=node.get("position", {}).get("y", placed[node["id"]].y),
        )
        for node in definition["nodes"]
    ]
    edges = [FlowEdge.from_definition(flow_id, tenant_id, edge) for edge in definition["edges"]]
    snapshot = FlowSnapshot(
        flow_id=flow_id,
        version=1,
        tenant_id=tenant_id,
        definition=definition,
        note=note,
        created_by=scope.actor_id,
        created_at=now,
    )
    return FlowItems(flow, nodes, edges, snapshot)


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


def check_config(node_type_name: str, config: Any) -> list[ConfigError]:
    """Problems of a draft configuration for a node type (a masked secret counts as kept, so fine)."""
    node_type = get_node_type(node_type_name)
    errors = node_type.validate(node_type.without_masked_secrets(config))
    # The same bound the save applies, so "valid" here means it can also be stored.
    if json_size(config) > SAFE_ITEM_BYTES:
        path = biggest_json_path(config, "$")
        errors.append(ConfigError(path, f"too large to store (at most {SAFE_ITEM_BYTES:,} bytes in all)."))
    return errors


def save_node_config(
    scope: AccessScope, flow_id: str, node_id: str, config: Any, expected_version: int
) -> NodeState:
    """Replace the node's configuration if nobody saved since `expected_version` (0: never saved).

    Masked secrets keep their stored value. Raises InvalidConfig, Conflict, NotFound.
    """
    state = get_node_state(scope, flow_id, node_id, editable=True)
    if state.version != expected_version:
        raise Conflict(CONFLICT_MESSAGE, {"version": f"now {state.version}, you edited {expected_version}"})
    node_type = state.node_type
    stored_config = state.stored.config if state.stored is not None else None
    if isinstance(config, dict):
        config = node_type.keep_secrets(config, stored_config)
    errors = node_type.validate(config)
    if errors:
        raise InvalidConfig(errors)

    item = NodeConfig(
        flow_id=flow_id,
        node_id=node_id,
        tenant_id=state.node.tenant_id,
        node_type=node_type.name,
        config=config,
        updated_by=scope.actor_label,
        updated_at=clock.now(),
    )
    check_item_size(item)
    if expected_version:
        item.version = expected_version  # the write requires the stored version to still be this one
    # With no version, PynamoDB's write instead requires that no configuration exists yet.
    event = audit.build_event(
        scope,
        "node_config.save",
        "flow_node",
        f"{flow_id}/{node_id}",
        tenant_id=state.node.tenant_id,
        changes=describe_changes(node_type, state.config, config, expected_version + 1),
    )
    save_together([item, event], CONFLICT_MESSAGE, {"version": "changed meanwhile"})
    return NodeState(state.node, item, node_type, [])


def _leaves(config: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(config, dict):
        return {}
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(_leaves(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if value is not None else "—"
    return text if len(text) <= 40 else text[:39] + "…"


def describe_changes(node_type: NodeType, before: Any, after: dict[str, Any], version: int) -> dict[str, str]:
    """What the audit trail shows: each changed setting as `old → new`, secrets only as "changed"."""
    # Omitted settings run with their defaults, so compare what the node runs with, not what was typed.
    defaults = _leaves(node_type.defaults())
    old, new = {**defaults, **_leaves(before)}, {**defaults, **_leaves(after)}
    changes = {"version": str(version)}
    for path in sorted(set(old) | set(new)):
        if old.get(path) == new.get(path):
            continue
        if path in node_type.ui.secrets:
            changes[path] = "secret changed" if new.get(path) else "secret removed"
        else:
            changes[path] = f"{_short(old.get(path))} → {_short(new.get(path))}"
    return changes


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
