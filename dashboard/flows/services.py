"""The flows area's state changes: building a flow from a definition, saving a node's configuration,
and bringing a flow to a template's newer version. Reads are in `queries`, input checks in `inputs`,
and the graph itself (checks, layout, what a template update changes) in `definition`.

Saving a configuration is a conditional write on its version, audited in the same transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError

from dashboard.audit import services as audit
from dashboard.core import clock
from dashboard.core.errors import Conflict, ValidationFailed
from dashboard.core.ids import new_id
from dashboard.core.scope import AccessScope
from dashboard.dynamo.base import transact_write
from dashboard.dynamo.item_size import check_item_size
from dashboard.dynamo.transactions import condition_failed, save_together, transient
from dashboard.flows import queries
from dashboard.flows.definition import (
    MAX_TRANSACTION_ITEMS,
    TOO_BIG,
    SecretInput,
    config_leaves,
    layout,
    template_update,
)
from dashboard.flows.inputs import clean_config
from dashboard.flows.models import Flow, FlowEdge, FlowNode, FlowSnapshot, NodeConfig, Project
from dashboard.flows.node_types import NodeType
from dashboard.flows.queries import NodeState

CONFLICT_MESSAGE = (
    "Someone else saved this node's configuration first. Nothing was overwritten: "
    "reload to see their version, then apply your change again."
)


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


# --- one node's configuration -------------------------------------------------------------------


def save_node_config(
    scope: AccessScope, flow_id: str, node_id: str, config: Any, expected_version: int
) -> NodeState:
    """Replace the node's configuration if nobody saved since `expected_version` (0: never saved).

    Masked secrets keep their stored value. Raises InvalidConfig, Conflict, NotFound.
    """
    state = queries.get_node_state(scope, flow_id, node_id, editable=True)
    if state.version != expected_version:
        raise Conflict(CONFLICT_MESSAGE, {"version": f"now {state.version}, you edited {expected_version}"})
    node_type = state.node_type
    config = clean_config(node_type, config, state.stored.config if state.stored is not None else None)
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


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if value is not None else "—"
    return text if len(text) <= 40 else text[:39] + "…"


def describe_changes(node_type: NodeType, before: Any, after: dict[str, Any], version: int) -> dict[str, str]:
    """What the audit trail shows: each changed setting as `old → new`, secrets only as "changed"."""

    # Omitted settings (an empty group too) run with their defaults, so compare what the node runs
    # with, not what was typed.
    def runs_with(config: Any) -> dict[str, Any]:
        return config_leaves(config, empty_groups=False)

    defaults = runs_with(node_type.defaults())
    old, new = {**defaults, **runs_with(before)}, {**defaults, **runs_with(after)}
    changes = {"version": str(version)}
    for path in sorted(set(old) | set(new)):
        if old.get(path) == new.get(path):
            continue
        if path in node_type.ui.secrets:
            changes[path] = "secret changed" if new.get(path) else "secret removed"
        else:
            changes[path] = f"{_short(old.get(path))} → {_short(new.get(path))}"
    return changes


# --- a template's newer version applied to a flow -------------------------------------------------

FLOW_CHANGED = "The flow changed since you opened it; nothing was applied. Reload and look again."


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
    What changes is `definition.template_update`'s (pure); this reads the flow, checks its version
    and writes the changes with the new snapshot and the audit event.
    """
    flow = queries.get_flow(scope, flow_id)
    if int(flow.version or 0) != int(expected_version):
        raise Conflict(FLOW_CHANGED, {"version": "changed meanwhile"})
    now = clock.now()
    update = template_update(
        queries.flow_parts(flow),
        definition,
        inputs,
        values,
        take_template_settings=take_template_settings,
        by=scope.actor_label,
        at=now,
    )
    writes, deletes = update.writes, update.deletes
    latest = queries.latest_snapshot(flow)
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
