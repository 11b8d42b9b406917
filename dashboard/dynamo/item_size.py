"""An item's size as DynamoDB counts it, checked before writing (its limit is 400 KB per item).

Over the limit DynamoDB answers a ValidationException — a 500 if it got that far, and inside a
transaction nothing of the change lands. Checking first turns it into a 422 naming the field
that takes the room, so the client knows what to shorten.
"""

from __future__ import annotations

import json
from typing import Any

from pynamodb.attributes import JSONAttribute
from pynamodb.models import Model

from dashboard.core.errors import ValidationFailed

# Below DynamoDB's 400 KB: leaves room for attributes the write adds (versions, GSI keys, ...).
SAFE_ITEM_BYTES = 350_000


def value_size(value: dict[str, Any]) -> int:
    """Bytes of one serialised attribute value (`{"S": ...}`, `{"M": {...}}`, ...), counted without recursion."""
    total = 0
    stack = [value]
    while stack:
        attribute = stack.pop()
        ((kind, content),) = attribute.items()
        if kind == "S":
            total += len(content.encode("utf-8", "surrogatepass"))
        elif kind in ("N", "B"):
            total += len(content)
        elif kind in ("SS", "NS", "BS"):
            total += sum(len(str(member).encode("utf-8", "surrogatepass")) for member in content)
        elif kind == "M":
            total += 3
            for name, child in content.items():
                total += 1 + len(name.encode("utf-8", "surrogatepass"))
                stack.append(child)
        elif kind == "L":
            total += 3
            for child in content:
                total += 1
                stack.append(child)
        else:  # BOOL, NULL
            total += 1
    return total


def _children(value: dict[str, Any]) -> list[tuple[str | int, dict[str, Any]]]:
    ((kind, content),) = value.items()
    if kind == "M":
        return list(content.items())
    if kind == "L":
        return list(enumerate(content))
    return []


def biggest_field(name: str, value: dict[str, Any]) -> str:
    """The path of what takes most room: descend while one child holds most of its parent."""
    path, size = name, value_size(value)
    while True:
        children = [(key, child, value_size(child)) for key, child in _children(value)]
        if not children:
            return path
        key, child, child_size = max(children, key=lambda entry: entry[2])
        if child_size * 2 < size:
            return path
        path = f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}"
        value, size = child, child_size


def json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass"))


def biggest_json_path(value: Any, path: str) -> str:
    """Like `biggest_field`, inside a JSON document (attributes stored as JSON text)."""
    size = json_size(value)
    while isinstance(value, dict | list) and value:
        entries = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
        key, child = max(entries, key=lambda entry: json_size(entry[1]))
        child_size = json_size(child)
        if child_size * 2 < size:
            break
        path = f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}"
        value, size = child, child_size
    return path


def item_size(item: Model) -> tuple[int, dict[str, int]]:
    attributes = item.serialize()
    sizes = {name: len(name.encode()) + value_size(value) for name, value in attributes.items()}
    return sum(sizes.values()), sizes


def check_item_size(
    item: Model, *, most: int = SAFE_ITEM_BYTES, field_names: dict[str, str] | None = None
) -> None:
    """Raise ValidationFailed (422) naming the biggest field when `item` would not fit DynamoDB.

    `field_names` maps an attribute to the name the client used for it (`definition` for `nodes`).
    """
    total, sizes = item_size(item)
    if total <= most:
        return
    attributes = item.serialize()
    name = max(sizes, key=sizes.get)
    label = (field_names or {}).get(name, name)
    python_name = next(
        (key for key, attribute in item.get_attributes().items() if attribute.attr_name == name), None
    )
    attribute = item.get_attributes().get(python_name) if python_name else None
    if isinstance(attribute, JSONAttribute):  # stored as text: look inside the document instead
        path = biggest_json_path(getattr(item, python_name), label)
    else:
        path = biggest_field(label, attributes[name])
    raise ValidationFailed(
        f"This is too large to store ({total:,} bytes; at most {most:,}). "
        f"Most of it is in `{path}` ({sizes[name]:,} bytes): shorten it.",
        {path: f"too large ({sizes[name]:,} bytes)"},
    )
