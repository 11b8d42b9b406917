"""Flows input: a node configuration as a person or a machine sends it, the node settings of a
definition checked against their node types' JSON Schemas, and the secrets a template leaves out as
a form asks for them. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dashboard.core.errors import ValidationFailed
from dashboard.dynamo.item_size import SAFE_ITEM_BYTES, biggest_json_path, json_size
from dashboard.flows.node_schemas import SCHEMAS
from dashboard.flows.node_types import ConfigError, NodeType, get_node_type

if TYPE_CHECKING:
    from dashboard.flows.definition import SecretInput


class InvalidConfig(ValidationFailed):
    """A configuration that breaks its node type's schema; `errors` lists each JSON path and message."""

    def __init__(self, errors: list[ConfigError]):
        super().__init__(
            "The configuration is not valid: fix the settings marked below.",
            {error.path: error.message for error in errors},
        )
        self.errors = errors


def check_config(node_type_name: str, config: Any) -> list[ConfigError]:
    """Problems of a draft configuration for a node type (a masked secret counts as kept, so fine)."""
    node_type = get_node_type(node_type_name)
    errors = node_type.validate(node_type.without_masked_secrets(config))
    # The same bound the save applies, so "valid" here means it can also be stored.
    if json_size(config) > SAFE_ITEM_BYTES:
        path = biggest_json_path(config, "$")
        errors.append(ConfigError(path, f"too large to store (at most {SAFE_ITEM_BYTES:,} bytes in all)."))
    return errors


def clean_config(node_type: NodeType, config: Any, stored: Any) -> Any:
    """The configuration to store: masked secrets keep their `stored` value. Raises InvalidConfig."""
    if isinstance(config, dict):
        config = node_type.keep_secrets(config, stored)
    errors = node_type.validate(config)
    if errors:
        raise InvalidConfig(errors)
    return config


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
