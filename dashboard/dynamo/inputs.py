"""Checks on raw input (form data or a JSON body) shared by the services of every area."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def clean_text(
    data: Mapping[str, Any],
    field: str,
    errors: dict[str, str],
    *,
    required: bool = True,
    max_length: int = 200,
) -> str:
    """`data[field]` stripped; a problem goes into `errors[field]` and an empty string comes back."""
    value = data.get(field)
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[field] = "Must be text."
        return ""
    value = value.strip()
    if required and not value:
        errors[field] = "This field is required."
    elif len(value) > max_length:
        errors[field] = f"At most {max_length} characters (it has {len(value)})."
    return value
