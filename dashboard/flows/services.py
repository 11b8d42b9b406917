"""Projects, flows and node configurations: every read, rule and write of the flows area.

Reads are key or GSI queries, one per list; a node's configuration lives in flow-node-configs under
the same (flow_id, node_id) key as the node itself, so a page of nodes finds its configs with one
range query. Saving a configuration is a conditional write on its version, audited in the same
transaction.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError

from dashboard.accounts.queries import get_in_scope
from dashboard.accounts.scope import AccessScope, Can
from dashboard.audit import services as audit
from dashboard.core import clock
from dashboard.core.errors import Conflict, NotFound, ValidationFailed
from dashboard.core.ids import new_id
from dashboard.dynamo.base import transact_write
from dashboard.dynamo.item_size import SAFE_ITEM_BYTES, biggest_json_path, check_item_size, json_size
from dashboard.dynamo.paging import Page, paginate
from dashboard.dynamo.transactions import condition_failed, save_together, transient
from dashboard.flows.definition import (
    MAX_EDGES,
    MAX_NODES,
    SecretInput,
    config_leaves,
    fill_inputs,
    layout,
    strip_secrets,
)
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
    configs: list[NodeConfig] = field(default_factory=list)

    def __iter__(self):
        yield self.flow
        yield self.snapshot
        yield from self.nodes
        yield from self.edges
        yield from self.configs


def flow_items(
    scope: AccessScope,
    project: Project,
    name: str,
    definition: dict[str, Any],
    note: str,
    *,
    description: str = "",
    source_template_id: str | None = None,
    source_template_version: int | None = None,
    configs: dict[str, dict[str, Any]] | None = None,
    flow_id: str | None = None,
    at: datetime | None = None,
) -> FlowItems:
    """The flow, nodes, edges and first snapshot a (valid) definition makes, in `project`.

    Nodes keep the label and position the definition gives them; the others get their type's label
    and the column layout's position. `configs` (node id → settings) are stored as the nodes'
    configurations; the snapshot keeps `definition` as given (a template's has no secrets). The one
    builder of flows: template use, demo data, tests and benchmarks all go through it.
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
        source_template_version=source_template_version,
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
    types = {node["id"]: node["type"] for node in definition["nodes"]}
    stored = [
        NodeConfig(
            flow_id=flow_id,
            node_id=node_id,
            tenant_id=tenant_id,
            node_type=types[node_id],
            config=config,
            updated_by=scope.actor_label,
            updated_at=now,
        )
        for node_id, config in (configs or {}).items()
        if node_id in types
    ]
    return FlowItems(flow, nodes, edges, snapshot, stored)


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


# --- a flow as a template's definition, and a template's newer version applied to a flow -------

MAX_TRANSACTION_ITEMS = 100
TOO_BIG = (
    "This flow is too large to copy in one step (at most {limit} nodes, edges and node settings together)."
)
FLOW_CHANGED = "The flow changed since you opened it; nothing was applied. Reload and look again."


def _flow_parts(flow: Flow) -> tuple[list[FlowNode], list[FlowEdge], dict[str, NodeConfig]]:
    nodes = list(FlowNode.query(flow.flow_id, limit=MAX_NODES + 1))
    edges = list(FlowEdge.query(flow.flow_id, limit=MAX_EDGES + 1))
    if len(nodes) > MAX_NODES or len(edges) > MAX_EDGES:
        raise ValidationFailed(
            f"Only flows of at most {MAX_NODES} nodes and {MAX_EDGES} edges can become templates.",
            {"flow": "too many nodes or edges"},
        )
    configs = {config.node_id: config for config in NodeConfig.query(flow.flow_id)}
    return nodes, edges, configs


def flow_definition(scope: AccessScope, flow: Flow) -> dict[str, Any]:
    """The flow's graph with each node's stored settings, secrets in clear: for services only."""
    scope.check_tenant(flow.tenant_id, "That flow")
    nodes, edges, configs = _flow_parts(flow)
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


def check_copy_size(definition: dict[str, Any], extra: int = 3) -> None:
    """A flow made from `definition` fits one transaction with `extra` items of the caller's."""
    configured = sum(1 for node in definition["nodes"] if node.get("config"))
    count = 2 + len(definition["nodes"]) + len(definition["edges"]) + configured + extra
    if count > MAX_TRANSACTION_ITEMS:
        raise ValidationFailed(
            TOO_BIG.format(limit=MAX_TRANSACTION_ITEMS - 2 - extra), {"definition": "too large"}
        )


def check_node_settings(
    definition: dict[str, Any], configs: dict[str, dict[str, Any]], errors: dict[str, str]
) -> None:
    """Each configured node's settings against its type's schema; problems go to `errors`."""
    types = {node["id"]: node["type"] for node in definition["nodes"]}
    labels = {node["id"]: node.get("label") or node["id"] for node in definition["nodes"]}
    for node_id, config in configs.items():
        for problem in get_node_type(types[node_id]).validate(config):
            errors.setdefault(
                f"input__{node_id}__{problem.field}", f"{labels[node_id]}: {problem.path} {problem.message}"
            )


def setting_problems(definition: dict[str, Any], inputs: list[SecretInput]) -> list[dict[str, str]]:
    """Each configured node's settings checked against its node type's JSON Schema, as a template's
    author and its moderator are shown them: [{"node_id", "node", "path", "message"}].

    A secret the template leaves out is no problem (it is supplied on use); nodes without settings run
    on their type's defaults. No I/O.
    """
    left_out = {(item.node_id, item.path) for item in inputs}
    problems: list[dict[str, str]] = []
    for node in definition.get("nodes", []):
        config = node.get("config")
        if not config or node.get("type") not in SCHEMAS:
            continue
        for problem in get_node_type(node["type"]).validate(config):
            if any(
                node_id == node["id"] and (problem.field == path or path.startswith(f"{problem.field}."))
                for node_id, path in left_out
            ):
                continue
            problems.append(
                {
                    "node_id": node["id"],
                    "node": node.get("label") or node["id"],
                    "path": problem.path.removeprefix("$").removeprefix(".") or "settings",
                    "message": problem.message,
                }
            )
    return problems


def base_definition(flow: Flow) -> dict[str, Any] | None:
    """The template definition the flow was made from or last updated to: its latest snapshot's."""
    latest = next(iter(FlowSnapshot.query(flow.flow_id, scan_index_forward=False, limit=1)), None)
    return latest.definition if latest is not None else None


def apply_template(
    scope: AccessScope,
    flow_id: str,
    *,
    expected_version: int,
    definition: dict[str, Any],
    inputs: list[SecretInput],
    values: dict[str, str],
    take_template_settings: bool,
    template_version: int,
    note: str,
) -> Flow:
    """Bring the flow to a template's newer `definition` in one transaction.

    Nodes and edges follow the template. Settings: a new node (or one whose type changed) gets the
    template's; an existing node keeps its own unless `take_template_settings`. A secret the template
    leaves out is taken from `values`, else from the node's current settings; missing both is an error.
    """
    flow = get_flow(scope, flow_id)
    if int(flow.version or 0) != int(expected_version):
        raise Conflict(FLOW_CHANGED, {"version": "changed meanwhile"})
    nodes, edges, configs = _flow_parts(flow)
    current = {node.node_id: node for node in nodes}
    now = clock.now()
    errors: dict[str, str] = {}
    writes: list[Any] = []
    deletes: list[Any] = []
    taken: dict[str, dict[str, Any]] = {}
    for node in definition["nodes"]:
        old = current.get(node["id"])
        if old is None or old.node_type != node["type"] or old.label != (node.get("label") or old.label):
            placed = layout(definition).nodes if old is None else None
            position = node.get("position") or {}
            fallback = next(p for p in placed if p.id == node["id"]) if placed else None
            writes.append(
                FlowNode(
                    flow_id=flow.flow_id,
                    node_id=node["id"],
                    tenant_id=flow.tenant_id,
                    node_type=node["type"],
                    label=node.get("label") or (old.label if old else fallback.label),
                    position_x=old.position_x if old else position.get("x", fallback.x),
                    position_y=old.position_y if old else position.get("y", fallback.y),
                )
            )
        if old is not None and old.node_type == node["type"] and not take_template_settings:
            continue
        mine = configs.get(node["id"])
        node_inputs = [item for item in inputs if item.node_id == node["id"]]
        if not node.get("config") and not node_inputs:
            # The template leaves this node at its type's defaults: taking that means no stored settings.
            if mine is not None:
                deletes.append(mine)
            continue
        mine_config = (
            mine.config if mine is not None and old is not None and old.node_type == node["type"] else {}
        )
        config = copy.deepcopy(node.get("config") or {})
        for item in node_inputs:
            given = values.get(item.field_name)
            given = given.strip() if isinstance(given, str) else ""
            if given:
                config = fill_inputs(config, [item], values, errors)
            elif config_leaves(mine_config).get(item.path) not in (None, "", []):
                config = fill_inputs(
                    config, [item], {item.field_name: _as_text(config_leaves(mine_config)[item.path])}, errors
                )
            else:
                errors[item.field_name] = (
                    "Required: this node takes the template's settings, which leave this secret to you."
                )
        taken[node["id"]] = config
        item_config = NodeConfig(
            flow_id=flow.flow_id,
            node_id=node["id"],
            tenant_id=flow.tenant_id,
            node_type=node["type"],
            config=config,
            updated_by=scope.actor_label,
            updated_at=now,
        )
        if mine is not None:
            item_config.version = mine.version  # lands only on the settings read above
        writes.append(item_config)
    check_node_settings(definition, taken, errors)
    if errors:
        raise ValidationFailed("Supply the settings marked below; nothing was applied.", errors)
    wanted = {node["id"] for node in definition["nodes"]}
    for node in nodes:
        if node.node_id not in wanted:
            deletes.append(node)
            if node.node_id in configs:
                deletes.append(configs[node.node_id])
    new_edges = {edge["id"]: edge for edge in definition["edges"]}
    old_edges = {edge.edge_id: edge for edge in edges}
    for edge_id, edge in new_edges.items():
        old = old_edges.get(edge_id)
        if old is None or (old.source, old.target, old.label) != (
            edge["source"],
            edge["target"],
            edge.get("label", ""),
        ):
            writes.append(FlowEdge.from_definition(flow.flow_id, flow.tenant_id, edge))
    deletes += [edge for edge_id, edge in old_edges.items() if edge_id not in new_edges]
    latest = next(iter(FlowSnapshot.query(flow.flow_id, scan_index_forward=False, limit=1)), None)
    snapshot = FlowSnapshot(
        flow_id=flow.flow_id,
        version=(int(latest.version) if latest else 0) + 1,
        tenant_id=flow.tenant_id,
        definition=definition,
        note=note,
        created_by=scope.actor_id,
        created_at=now,
    )
    flow.node_count = len(definition["nodes"])
    flow.edge_count = len(definition["edges"])
    flow.updated_at = now
    flow.source_template_version = template_version
    event = audit.build_event(
        scope,
        "flow.template_update",
        "flow",
        flow.flow_id,
        tenant_id=flow.tenant_id,
        changes={
            "template_version": str(template_version),
            "settings": "template's" if take_template_settings else "kept",
        },
    )
    if len(writes) + len(deletes) + 3 > MAX_TRANSACTION_ITEMS:
        raise ValidationFailed(TOO_BIG.format(limit=MAX_TRANSACTION_ITEMS - 3), {"definition": "too large"})
    try:
        with transact_write() as tx:
            tx.save(flow)  # conditioned on the flow's version read above
            tx.save(snapshot, condition=FlowSnapshot.version.does_not_exist())
            for item in writes:
                tx.save(item)
            for item in deletes:
                tx.delete(item)
            tx.save(event)
    except TransactWriteError as exc:
        if condition_failed(exc) or transient(exc):
            raise Conflict(FLOW_CHANGED, {"version": "changed meanwhile"}) from None
        raise
    return flow


def _as_text(value: Any) -> str:
    return "\n".join(str(item) for item in value) if isinstance(value, list) else str(value)


@dataclass(frozen=True)
class InputField:
    """A secret a template leaves out, as a form asks for it."""

    field_name: str
    node_label: str
    label: str
    lines: bool

    @property
    def title(self) -> str:
        return f"{self.node_label} · {self.label}"


def input_fields(definition: dict[str, Any], inputs: list[SecretInput]) -> list[InputField]:
    nodes = {node["id"]: node for node in definition.get("nodes", [])}
    fields = []
    for item in inputs:
        node = nodes.get(item.node_id, {"id": item.node_id, "type": ""})
        label = item.path
        if node.get("type") in SCHEMAS:
            specs = {spec.name: spec.label for spec in get_node_type(node["type"]).fields()}
            label = specs.get(item.path, item.path)
        node_label = node.get("label") or node["id"]
        fields.append(InputField(item.field_name, node_label, label, item.lines))
    return fields
