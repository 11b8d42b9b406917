"""A flow definition (`{"nodes": [...], "edges": [...]}`): its JSON Schema, the checks a schema
cannot say, a layout in columns, the secrets a template leaves out, what a newer definition changes,
and the items that bring a stored flow to it (`template_update`). No I/O.

Templates carry one, and a flow is built from one (`flows.services.flow_items`) in a single DynamoDB
transaction (flow + snapshot + nodes + edges, plus the caller's own items such as a template's usage
counter and an audit event), which holds at most 100 items; the size caps below keep it under that.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from jsonschema import Draft202012Validator

from dashboard.core.errors import DashboardError, ValidationFailed
from dashboard.core.inputs import clean_json_text
from dashboard.core.secrets import contains_secret, is_secret_name
from dashboard.flows import node_schemas
from dashboard.flows.inputs import check_node_settings
from dashboard.flows.models import Flow, FlowEdge, FlowNode, NodeConfig
from dashboard.flows.node_schemas import NODE_TYPES

MAX_NODES = 40
MAX_EDGES = 50
MAX_TRANSACTION_ITEMS = 100
TOO_BIG = (
    "This flow is too large to copy in one step (at most {limit} nodes, edges and node settings together)."
)
ID_PATTERN = "^[A-Za-z0-9_-]{1,40}$"

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["nodes", "edges"],
    "additionalProperties": False,
    "properties": {
        "nodes": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_NODES,
            "items": {
                "type": "object",
                "required": ["id", "type"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string", "pattern": ID_PATTERN},
                    "type": {"type": "string", "enum": list(NODE_TYPES)},
                    "label": {"type": "string", "maxLength": 80},
                    "position": {
                        "type": "object",
                        "required": ["x", "y"],
                        "additionalProperties": False,
                        "properties": {
                            "x": {"type": "number", "minimum": 0, "maximum": 100000},
                            "y": {"type": "number", "minimum": 0, "maximum": 100000},
                        },
                    },
                    "config": {"type": "object"},
                },
            },
        },
        "edges": {
            "type": "array",
            "maxItems": MAX_EDGES,
            "items": {
                "type": "object",
                "required": ["source", "target"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string", "pattern": ID_PATTERN},
                    "source": {"type": "string"},
                    "target": {"type": "string"},
                    "label": {"type": "string", "maxLength": 80},
                },
            },
        },
    },
}
_VALIDATOR = Draft202012Validator(SCHEMA)


def _path(parts) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "definition"


def _message(error) -> str:
    if error.validator == "enum" and list(error.path)[-1:] == ["type"]:
        return f"“{error.instance}” is not a known node type; use one of: {', '.join(NODE_TYPES)}."
    if error.validator == "pattern":
        return "use 1–40 letters, digits, dashes or underscores."
    if error.validator == "maxItems":
        return f"at most {error.validator_value} allowed (a template must fit one transaction)."
    if error.validator == "minItems":
        return "a flow needs at least one node."
    if error.validator == "required":
        return error.message.replace("is a required property", "is required")
    if error.validator == "additionalProperties":
        return error.message.replace("Additional properties are not allowed", "unknown field")
    return error.message


FORM_JSON_MAX_BYTES = 400_000  # what fits one DynamoDB item


def validate(definition: Any) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """(normalised definition, {}) when valid, else (None, {"definition.nodes[2].type": message, …}).

    Accepts the JSON text from a form or the parsed object from the API.
    """
    if isinstance(definition, str):
        if not definition.strip():
            return None, {"definition": 'Paste the flow as JSON: {"nodes": [...], "edges": [...]}.'}
        try:
            definition = clean_json_text(definition, max_bytes=FORM_JSON_MAX_BYTES, field="definition")
        except DashboardError as exc:
            return None, exc.fields or {"definition": exc.message}
    errors: dict[str, str] = {}
    for error in sorted(_VALIDATOR.iter_errors(definition), key=lambda e: list(map(str, e.path))):
        key = "definition" if not error.path else f"definition.{_path(error.path)}"
        errors.setdefault(key, _message(error))
    if not isinstance(definition, dict):
        return None, errors
    nodes = (
        [n for n in definition.get("nodes") or [] if isinstance(n, dict)]
        if isinstance(definition.get("nodes"), list)
        else []
    )
    raw_edges = definition.get("edges") if isinstance(definition.get("edges"), list) else []
    node_ids: set[str] = set()
    for index, node in enumerate(nodes):
        if node.get("id") in node_ids:
            errors.setdefault(f"definition.nodes[{index}].id", f"duplicate node id “{node['id']}”.")
        node_ids.add(node.get("id"))
    edge_ids: set[str] = set()
    pairs: set[tuple[str, str]] = set()
    edges = []
    for index, edge in enumerate(raw_edges):
        if not isinstance(edge, dict):
            continue
        edge_id = edge.get("id") or f"e{index + 1}"
        if edge_id in edge_ids:
            errors.setdefault(f"definition.edges[{index}].id", f"duplicate edge id “{edge_id}”.")
        edge_ids.add(edge_id)
        for end in ("source", "target"):
            if end in edge and edge[end] not in node_ids:
                errors.setdefault(f"definition.edges[{index}].{end}", f"no node has the id “{edge[end]}”.")
        if "source" in edge and edge.get("source") == edge.get("target"):
            errors.setdefault(f"definition.edges[{index}].target", "an edge cannot connect a node to itself.")
        if (edge.get("source"), edge.get("target")) in pairs:
            errors.setdefault(f"definition.edges[{index}]", "the same two nodes are already connected.")
        pairs.add((edge.get("source"), edge.get("target")))
        edges.append({**edge, "id": edge_id})
    if errors:
        return None, errors
    return {"nodes": definition["nodes"], "edges": edges}, {}


# --- layout for pages and for nodes without a position -----------------------------------------------------------------

NODE_WIDTH = 150
NODE_HEIGHT = 46
COLUMN_GAP = 70
ROW_GAP = 26
MARGIN = 16


@dataclass
class PlacedNode:
    id: str
    type: str
    label: str
    x: int
    y: int
    step: int


@dataclass
class PlacedEdge:
    id: str
    source: str
    target: str
    label: str
    path: str


@dataclass
class Layout:
    nodes: list[PlacedNode]
    edges: list[PlacedEdge]
    width: int
    height: int


ACRONYMS = {
    "llm": "LLM",
    "api": "API",
    "http": "HTTP",
    "sql": "SQL",
    "rag": "RAG",
    "url": "URL",
    "json": "JSON",
}


def type_label(node_type: str) -> str:
    """A node type as the product writes it: its catalogue label ("LLM call"), else its words with
    acronyms kept in capitals ("LLM", never "Llm")."""
    ui = node_schemas.UI.get(node_type)
    if ui:
        return ui.label
    words = node_type.replace("_", " ").replace("-", " ").split()
    return " ".join(ACRONYMS.get(word.lower(), word.capitalize()) for word in words)


def layers(definition: dict) -> dict[str, int]:
    """Each node's column: the longest path from a start node (nodes on a cycle go after the rest)."""
    ids = [node["id"] for node in definition["nodes"]]
    incoming = {node_id: 0 for node_id in ids}
    outgoing: dict[str, list[str]] = {node_id: [] for node_id in ids}
    for edge in definition["edges"]:
        if edge["source"] in outgoing and edge["target"] in incoming:
            outgoing[edge["source"]].append(edge["target"])
            incoming[edge["target"]] += 1
    layer = {node_id: 0 for node_id in ids}
    ready = [node_id for node_id in ids if incoming[node_id] == 0]
    seen = set()
    while ready:
        node_id = ready.pop(0)
        seen.add(node_id)
        for target in outgoing[node_id]:
            layer[target] = max(layer[target], layer[node_id] + 1)
            incoming[target] -= 1
            if incoming[target] == 0:
                ready.append(target)
    last = max((layer[n] for n in seen), default=-1)
    for node_id in ids:
        if node_id not in seen:
            last += 1
            layer[node_id] = last
    return layer


def layout(definition: dict) -> Layout:
    column_of = layers(definition)
    rows: dict[int, int] = {}
    placed: dict[str, PlacedNode] = {}
    for node in definition["nodes"]:
        column = column_of[node["id"]]
        row = rows.get(column, 0)
        rows[column] = row + 1
        placed[node["id"]] = PlacedNode(
            id=node["id"],
            type=node["type"],
            label=node.get("label") or type_label(node["type"]),
            x=MARGIN + column * (NODE_WIDTH + COLUMN_GAP),
            y=MARGIN + row * (NODE_HEIGHT + ROW_GAP),
            step=column + 1,
        )
    edges = []
    for edge in definition["edges"]:
        source, target = placed.get(edge["source"]), placed.get(edge["target"])
        if source is None or target is None:
            continue
        x1, y1 = source.x + NODE_WIDTH, source.y + NODE_HEIGHT / 2
        x2, y2 = target.x, target.y + NODE_HEIGHT / 2
        bend = max(40, abs(x2 - x1) / 2)
        edges.append(
            PlacedEdge(
                id=edge["id"],
                source=edge["source"],
                target=edge["target"],
                label=edge.get("label", ""),
                path=f"M{x1:.0f},{y1:.0f} C{x1 + bend:.0f},{y1:.0f} {x2 - bend:.0f},{y2:.0f} {x2 - 6:.0f},{y2:.0f}",
            )
        )
    columns = max(column_of.values(), default=0) + 1
    most_rows = max(rows.values(), default=1)
    return Layout(
        nodes=sorted(placed.values(), key=lambda n: (n.step, n.y)),
        edges=edges,
        width=2 * MARGIN + columns * NODE_WIDTH + (columns - 1) * COLUMN_GAP,
        height=2 * MARGIN + most_rows * NODE_HEIGHT + (most_rows - 1) * ROW_GAP,
    )


# --- templates made from flows: secrets out, inputs listed, and what changed between two ---------------


# A setting is a secret by the one rule of `core.secrets` (the moderator's review masks by the same
# rule): a word of its name says so (`api_key`, `auth.token`, `webhookSecret`, `headers.Cookie`), or its
# value holds a credential anywhere in it (`Authorization: Basic …` in headers, `?api_key=` in a URL, a key
# inside a prompt or a request body, a JWT in a nested list of objects).
def secret_name(dotted: str) -> bool:
    return is_secret_name(dotted.rsplit(".", 1)[-1])


def secret_value(value: Any) -> bool:
    return contains_secret(value)


def config_leaves(config: Any, prefix: str = "", *, empty_groups: bool = True) -> dict[str, Any]:
    """`{"retry": {"max_attempts": 3}}` → `{"retry.max_attempts": 3}`.

    An empty group (`{"retry": {}}`) is a leaf of its own by default: a template that empties a
    group changes the flow's settings, so its diff must see it. With `empty_groups=False` it is
    nothing, as for a node's audit trail, where an empty group runs with the type's defaults."""
    if not isinstance(config, dict):
        return {}
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict) and (value or not empty_groups):
            flat.update(config_leaves(value, f"{prefix}{key}.", empty_groups=empty_groups))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _set_leaf(config: dict[str, Any], dotted: str, value: Any) -> None:
    *heads, key = dotted.split(".")
    node = config
    for head in heads:
        if not isinstance(node.get(head), dict):
            node[head] = {}  # a settings group the template does not have yet
        node = node[head]
    node[key] = value


@dataclass(frozen=True)
class SecretInput:
    """A setting a template leaves out (a stored secret) that whoever uses it must supply.

    `lines`: the setting is a list (headers, stop words) whose secret lines were removed; what the
    user types is added to the lines the template keeps.
    """

    node_id: str
    path: str
    lines: bool = False
    structured: bool = False  # a list or object left out whole: supplied as JSON

    @property
    def field_name(self) -> str:
        return f"input__{self.node_id}__{self.path}"

    def as_dict(self) -> dict[str, Any]:
        data = {"node_id": self.node_id, "path": self.path, "lines": self.lines}
        return {**data, "structured": True} if self.structured else data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SecretInput:
        return cls(
            str(data["node_id"]), str(data["path"]), bool(data.get("lines")), bool(data.get("structured"))
        )


def strip_secrets(definition: dict[str, Any]) -> tuple[dict[str, Any], list[SecretInput]]:
    """A copy of the definition without any secret in its node settings, and the inputs that replace them.

    Settings the node type's catalogue marks secret always go, besides those found by name or value.
    """
    declared = {name: ui.secrets for name, ui in node_schemas.UI.items()}
    stripped = copy.deepcopy(definition)
    inputs: list[SecretInput] = []
    for node in stripped.get("nodes", []):
        config = node.get("config")
        if isinstance(config, dict):
            _strip(config, "", node, declared.get(node.get("type"), ()), inputs)
            if not config:
                del node["config"]
    return stripped, inputs


def _strip(config: dict[str, Any], prefix: str, node: dict, declared: tuple[str, ...], inputs: list) -> None:
    """Remove the secrets of one (nested) settings object in place; an emptied group goes too, so the
    schema's "required" then names the secret itself."""
    for key in list(config):
        value, path = config[key], f"{prefix}{key}"
        if isinstance(value, dict) and value:
            _strip(value, f"{path}.", node, declared, inputs)
            if not value:
                del config[key]
        elif value in (None, "", []):
            continue
        elif (
            isinstance(value, list)
            and all(isinstance(item, str) for item in value)
            and any(secret_value(item) for item in value)
            and path not in declared
            and not secret_name(path)
        ):
            # Lines (headers, stop words): only the secret ones go; the user's lines are added on use.
            config[key] = [item for item in value if not secret_value(item)]
            inputs.append(SecretInput(node["id"], path, lines=True))
        elif path in declared or secret_name(path) or secret_value(value):
            # A scalar, or a list or object holding a secret anywhere inside: the whole setting goes.
            del config[key]
            inputs.append(SecretInput(node["id"], path, structured=isinstance(value, list | dict)))


def fill_inputs(
    config: dict[str, Any], inputs: list[SecretInput], values: dict[str, str], errors: dict[str, str]
) -> dict[str, Any]:
    """`config` with each input's value set (lines added); a missing value is an error on its field."""
    filled = copy.deepcopy(config)
    for item in inputs:
        value = values.get(item.field_name)
        value = value.strip() if isinstance(value, str) else ""
        if not value:
            errors[item.field_name] = "Required: the template leaves this secret for you to supply."
            continue
        if item.lines:
            kept = config_leaves(filled).get(item.path) or []
            _set_leaf(
                filled, item.path, [*kept, *(line.strip() for line in value.splitlines() if line.strip())]
            )
        else:
            _set_leaf(filled, item.path, _typed(value) if item.structured else value)
    return filled


def _typed(value: str) -> Any:
    """A list or object left out whole, supplied as JSON (one line per item when it is not JSON)."""
    try:
        return json.loads(value)
    except ValueError:
        return [line.strip() for line in value.splitlines() if line.strip()]


@dataclass
class DefinitionDiff:
    """What a newer template version changes, as the flow page lists it."""

    added_nodes: list[dict[str, Any]] = field(default_factory=list)
    removed_nodes: list[dict[str, Any]] = field(default_factory=list)
    changed_nodes: list[tuple[dict[str, Any], list[str]]] = field(default_factory=list)  # node, what
    added_edges: list[dict[str, Any]] = field(default_factory=list)
    removed_edges: list[dict[str, Any]] = field(default_factory=list)
    settings: list[tuple[str, str, str, str]] = field(default_factory=list)  # node id, path, old, new

    def __bool__(self) -> bool:
        return any(
            (self.added_nodes, self.removed_nodes, self.changed_nodes, self.added_edges, self.removed_edges)
        ) or bool(self.settings)


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:39] + "…"


def diff(before: dict[str, Any], after: dict[str, Any]) -> DefinitionDiff:
    """Nodes, edges and node settings that differ from `before` to `after` (by node and edge id)."""
    result = DefinitionDiff()
    old_nodes = {node["id"]: node for node in before.get("nodes", [])}
    new_nodes = {node["id"]: node for node in after.get("nodes", [])}
    result.added_nodes = [node for node_id, node in new_nodes.items() if node_id not in old_nodes]
    result.removed_nodes = [node for node_id, node in old_nodes.items() if node_id not in new_nodes]
    for node_id, node in new_nodes.items():
        old = old_nodes.get(node_id)
        if old is None:
            continue
        what = [name for name in ("type", "label") if old.get(name) != node.get(name)]
        if what:
            result.changed_nodes.append((node, what))
        old_config, new_config = config_leaves(old.get("config")), config_leaves(node.get("config"))
        for path in sorted(set(old_config) | set(new_config)):
            if old_config.get(path) != new_config.get(path):
                result.settings.append(
                    (node_id, path, _shown(old_config.get(path)), _shown(new_config.get(path)))
                )
    pair = lambda edge: (edge["source"], edge["target"])  # noqa: E731 — edges are the same by their ends
    old_edges = {pair(edge): edge for edge in before.get("edges", [])}
    new_edges = {pair(edge): edge for edge in after.get("edges", [])}
    result.added_edges = [edge for key, edge in new_edges.items() if key not in old_edges]
    result.removed_edges = [edge for key, edge in old_edges.items() if key not in new_edges]
    return result


def check_copy_size(definition: dict[str, Any], extra: int = 3) -> None:
    """A flow made from `definition` fits one transaction with `extra` items of the caller's."""
    configured = sum(1 for node in definition["nodes"] if node.get("config"))
    count = 2 + len(definition["nodes"]) + len(definition["edges"]) + configured + extra
    if count > MAX_TRANSACTION_ITEMS:
        raise ValidationFailed(
            TOO_BIG.format(limit=MAX_TRANSACTION_ITEMS - 2 - extra), {"definition": "too large"}
        )


# --- a template's newer version applied to a flow: what changes, as items to write ------------------


@dataclass
class StoredFlow:
    """A flow's graph as stored: its nodes, edges and node settings (node id → NodeConfig)."""

    flow: Flow
    nodes: list[FlowNode]
    edges: list[FlowEdge]
    configs: dict[str, NodeConfig]


@dataclass
class TemplateUpdate:
    """The items that bring a flow to a template's definition, not saved: the caller writes them in
    one transaction with the flow, its new snapshot and the audit event."""

    writes: list[Any] = field(default_factory=list)  # nodes, node settings and edges, new or changed
    deletes: list[Any] = field(default_factory=list)  # those the definition no longer has


def template_update(
    current: StoredFlow,
    definition: dict[str, Any],
    inputs: list[SecretInput],
    values: dict[str, str],
    *,
    take_template_settings: bool,
    by: str,
    at: datetime,
) -> TemplateUpdate:
    """What bringing `current` to a template's `definition` writes and deletes (no I/O).

    Nodes and edges follow the template. Settings: a new node (or one whose type changed) gets the
    template's; an existing node keeps its own unless `take_template_settings`. A secret the template
    leaves out is taken from `values`, else from the node's current settings; missing both is an
    error. Raises ValidationFailed with every field to supply; settings written are stamped `by`, `at`.
    """
    flow, nodes, edges, configs = current.flow, current.nodes, current.edges, current.configs
    present = {node.node_id: node for node in nodes}
    errors: dict[str, str] = {}
    update = TemplateUpdate()
    writes, deletes = update.writes, update.deletes
    taken: dict[str, dict[str, Any]] = {}
    for node in definition["nodes"]:
        old = present.get(node["id"])
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
            updated_by=by,
            updated_at=at,
        )
        if mine is not None:
            item_config.version = mine.version  # lands only on the settings `current` holds
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
    deletes.extend(edge for edge_id, edge in old_edges.items() if edge_id not in new_edges)
    return update


def _as_text(value: Any) -> str:
    return "\n".join(str(item) for item in value) if isinstance(value, list) else str(value)
