"""The node types as the rest of the area uses them (their schemas are in `node_schemas.py`): defaults,
validation, fields, secrets.

Validation is `jsonschema`'s Draft202012Validator; its errors become a flat list of
`{"path": "$.retry.max_attempts", "message": "Must be at most 10."}`, one per offending value.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from dashboard.core.errors import NotFound
from dashboard.flows.node_schemas import NODE_TYPES, SCHEMAS, UI, NodeTypeUI

# Shown instead of a stored secret; sending it back means "keep what is stored".
SECRET_MASK = "••••••••"

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class ConfigError:
    path: str  # JSON path: "$", "$.temperature", "$.stop[1]"
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}

    @property
    def field(self) -> str:
        """The form field the error belongs to: "$.retry.max_attempts" → "retry.max_attempts", "$.stop[1]" → "stop"."""
        return re.sub(r"\[.*$", "", self.path.removeprefix("$").removeprefix("."))


@dataclass(frozen=True)
class FieldSpec:
    """One leaf of a node type's configuration, as a form shows it."""

    name: str  # dotted path
    schema: dict[str, Any]
    required: bool
    label: str
    help_text: str
    widget: str  # text | textarea | code | number | select | checkbox | lines | password
    placeholder: str
    secret: bool
    group: str | None  # title of the nested object the field sits in

    @property
    def kind(self) -> str:
        return self.schema.get("type", "string")

    @property
    def default_text(self) -> str:
        """The default as JSON, shortened for a table cell ("" when there is none)."""
        if "default" not in self.schema:
            return ""
        text = json.dumps(self.schema["default"], ensure_ascii=False)
        return text if len(text) <= 32 else text[:31] + "…"


@dataclass(frozen=True)
class NodeType:
    name: str
    schema: dict[str, Any]
    ui: NodeTypeUI

    @property
    def label(self) -> str:
        return self.ui.label

    @property
    def description(self) -> str:
        return self.ui.description

    @property
    def icon(self) -> str:
        return self.ui.icon

    @property
    def validator(self) -> Draft202012Validator:
        return _validator(self.name)

    def defaults(self) -> dict[str, Any]:
        return copy.deepcopy(_defaults(self.name))

    def fields(self) -> list[FieldSpec]:
        return list(_fields(self.name))

    def validate(self, config: Any) -> list[ConfigError]:
        return validate(self, config)

    def mask_secrets(self, config: dict[str, Any]) -> dict[str, Any]:
        """A copy safe to show: every stored secret replaced by the mask."""
        masked = copy.deepcopy(config)
        for path in self.ui.secrets:
            parent, key = _parent(masked, path)
            if isinstance(parent, dict) and parent.get(key):
                parent[key] = SECRET_MASK
        return masked

    def keep_secrets(self, config: dict[str, Any], stored: dict[str, Any] | None) -> dict[str, Any]:
        """`config` with each masked secret replaced by the stored value (dropped when none is stored)."""
        merged = copy.deepcopy(config)
        for path in self.ui.secrets:
            parent, key = _parent(merged, path)
            if not isinstance(parent, dict) or parent.get(key) != SECRET_MASK:
                continue
            stored_parent, _ = _parent(stored or {}, path)
            stored_value = stored_parent.get(key) if isinstance(stored_parent, dict) else None
            if stored_value:
                parent[key] = stored_value
            else:
                del parent[key]
        return merged

    def without_masked_secrets(self, config: Any) -> Any:
        """For validating a draft whose secrets stay as stored: a masked secret is not an error."""
        if not isinstance(config, dict):
            return config
        draft = copy.deepcopy(config)
        for path in self.ui.secrets:
            parent, key = _parent(draft, path)
            if isinstance(parent, dict) and parent.get(key) == SECRET_MASK:
                del parent[key]
        return draft


def _parent(config: Any, dotted: str) -> tuple[Any, str]:
    *heads, key = dotted.split(".")
    node = config
    for head in heads:
        node = node.get(head) if isinstance(node, dict) else None
    return node, key


def all_node_types() -> list[NodeType]:
    return [get_node_type(name) for name in NODE_TYPES]


def get_node_type(name: str) -> NodeType:
    if name not in SCHEMAS:
        raise NotFound(
            f"Unknown node type “{name}”. Known node types: {', '.join(NODE_TYPES)}.",
            {"type": "unknown node type"},
        )
    return NodeType(name=name, schema=SCHEMAS[name], ui=UI[name])


@cache
def _validator(name: str) -> Draft202012Validator:
    schema = SCHEMAS[name]
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


@cache
def _defaults(name: str) -> dict[str, Any]:
    return _object_defaults(SCHEMAS[name])


def _object_defaults(schema: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, prop in schema.get("properties", {}).items():
        if prop.get("type") == "object":
            nested = _object_defaults(prop)
            if nested:
                values[key] = nested
        elif "default" in prop:
            values[key] = copy.deepcopy(prop["default"])
    return values


@cache
def _fields(name: str) -> tuple[FieldSpec, ...]:
    ui = UI[name]
    leaves = dict(_leaves(SCHEMAS[name], prefix="", group=None, required=True))
    ordered = [path for path in ui.order if path in leaves]
    ordered += [path for path in leaves if path not in ordered]  # a field missing from `order` still shows
    specs = []
    for path in ordered:
        schema, required, group = leaves[path]
        secret = path in ui.secrets
        specs.append(
            FieldSpec(
                name=path,
                schema=schema,
                required=required,
                label=schema.get("title", path.rsplit(".", 1)[-1].replace("_", " ").capitalize()),
                help_text=schema.get("description", ""),
                widget=_widget(schema, ui.widgets.get(path), secret),
                placeholder=ui.placeholders.get(path, ""),
                secret=secret,
                group=group,
            )
        )
    return tuple(specs)


def _leaves(
    schema: dict[str, Any], prefix: str, group: str | None, required: bool
) -> Iterator[tuple[str, tuple[dict[str, Any], bool, str | None]]]:
    required_keys = set(schema.get("required", []))
    for key, prop in schema.get("properties", {}).items():
        path = f"{prefix}{key}"
        is_required = required and key in required_keys
        if prop.get("type") == "object":
            yield from _leaves(prop, f"{path}.", prop.get("title", key), is_required)
        else:
            yield path, (prop, is_required, group)


def _widget(schema: dict[str, Any], hint: str | None, secret: bool) -> str:
    if secret:
        return "password"
    kind = schema.get("type")
    if "enum" in schema:
        return "select"
    if kind == "boolean":
        return "checkbox"
    if kind == "array":
        return "lines"
    if kind in ("integer", "number"):
        return "number"
    return hint or "text"


# --- validation ---------------------------------------------------------------------------------


def validate(node_type: NodeType, config: Any) -> list[ConfigError]:
    """Every problem of `config`, in the form's field order (a valid config gives [])."""
    errors: dict[tuple[str, str], ConfigError] = {}
    for error in node_type.validator.iter_errors(config):
        for problem in _explain(error, node_type.ui):
            errors.setdefault((problem.path, problem.message), problem)
    order = {spec.name: index for index, spec in enumerate(node_type.fields())}
    return sorted(errors.values(), key=lambda e: (order.get(e.field, -1), e.path))


def json_path(parts: Any) -> str:
    path = "$"
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif _IDENTIFIER.match(str(part)):
            path += f".{part}"
        else:
            path += "[" + repr(str(part)) + "]"
    return path


def _explain(error: ValidationError, ui: NodeTypeUI) -> Iterator[ConfigError]:
    parts = list(error.absolute_path)
    path = json_path(parts)
    value = error.validator_value
    instance = error.instance
    kind = error.validator
    if kind == "required":
        for key in value:
            if isinstance(instance, dict) and key not in instance:
                yield ConfigError(json_path([*parts, key]), "This setting is required.")
        return
    if kind == "additionalProperties" and isinstance(instance, dict):
        known = set(error.schema.get("properties", {}))
        for key in instance:
            if key not in known:
                yield ConfigError(json_path([*parts, key]), "Not a setting of this node type.")
        return
    field_name = ".".join(str(p) for p in parts if not isinstance(p, int))
    yield ConfigError(path, _message(kind, value, instance, ui.pattern_messages.get(field_name)))


TYPE_NAMES = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
}


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _message(kind: str, value: Any, instance: Any, pattern_message: str | None) -> str:
    match kind:
        case "type":
            expected = value if isinstance(value, list) else [value]
            return f"Must be {' or '.join(TYPE_NAMES.get(t, t) for t in expected)}."
        case "minimum":
            return f"Must be at least {value}."
        case "maximum":
            return f"Must be at most {value}."
        case "exclusiveMinimum":
            return f"Must be more than {value}."
        case "exclusiveMaximum":
            return f"Must be less than {value}."
        case "minLength":
            return "Must not be empty." if value == 1 else f"Use at least {_plural(value, 'character')}."
        case "maxLength":
            return f"Use at most {_plural(value, 'character')} (this has {len(instance)})."
        case "enum":
            return f"Choose one of: {', '.join(str(option) for option in value)}."
        case "pattern":
            return pattern_message or f"Does not match the expected format ({value})."
        case "maxItems":
            return f"Give at most {_plural(value, 'item')}."
        case "minItems":
            return f"Give at least {_plural(value, 'item')}."
        case "uniqueItems":
            return "Each item may appear only once."
        case "multipleOf":
            return f"Must be a multiple of {value}."
        case _:
            return f"Not valid here ({kind})."
