"""Marketplace input: the fixed vocabularies (categories, sorts, visibilities, limits) and the typed
values a form, an API body or a query string is cleaned into."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field

from dashboard.core.errors import ValidationFailed
from dashboard.core.inputs import text_field
from dashboard.flows import definition as flow_definition

CATEGORIES: dict[str, str] = {
    "customer-support": "Customer support",
    "sales": "Sales",
    "research": "Research",
    "data-extraction": "Data extraction",
    "operations": "Operations",
    "engineering": "Engineering",
    "marketing": "Marketing",
    "finance": "Finance",
}
SORTS: dict[str, str] = {"popular": "Most used", "rating": "Top rated", "newest": "Newest"}
VISIBILITY_FILTERS: dict[str, str] = {
    "all": "Public and private",
    "public": "Public catalogue",
    "private": "Private to my tenant",
}
VISIBILITIES: dict[str, str] = {
    "private": "Private to my tenant",
    "public": "Public — submit for review",
}

PAGE_SIZE = 24
MAX_PAGE_SIZE = 100
MAX_TAGS = 8
MAX_NAME = 80
MAX_DESCRIPTION = 1000
MAX_FLOW_NAME = 120

TEMPLATE_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
TAG = re.compile(r"^[a-z0-9][a-z0-9-]{0,23}$")
# A tag as the JSON API takes it: exactly TAG (the forms also strip, lower-case and split on commas).
Tag = Annotated[str, Field(pattern=TAG.pattern)]
TAGS_DESCRIPTION = f"At most {MAX_TAGS}, each 1–24 lowercase letters, digits or dashes."


@dataclass(frozen=True)
class TemplateInput:
    name: str
    description: str
    category: str
    tags: frozenset[str]
    visibility: str
    definition: dict[str, Any]
    # Secrets found in the definition's node settings: taken out of `definition`, supplied on use.
    inputs: tuple[flow_definition.SecretInput, ...] = ()


def _tags(raw: Any) -> tuple[frozenset[str], str | None]:
    if raw is None or raw == "":
        return frozenset(), None
    if isinstance(raw, str):
        items = [part.strip().lower() for part in raw.split(",")]
    elif isinstance(raw, list | tuple) and all(isinstance(part, str) for part in raw):
        items = [part.strip().lower() for part in raw]
    else:
        return frozenset(), "Give tags as a list of words (or comma-separated text)."
    items = [item for item in items if item]
    bad = [item for item in items if not TAG.match(item)]
    if bad:
        return frozenset(), f"“{bad[0]}” is not a tag: use 1–24 lowercase letters, digits or dashes."
    if len(set(items)) > MAX_TAGS:
        return frozenset(), f"At most {MAX_TAGS} tags."
    return frozenset(items), None


def clean_input(data: Mapping[str, Any]) -> TemplateInput:
    """The template fields from a form or an API body, or ValidationFailed naming every bad field."""
    errors: dict[str, str] = {}

    name = text_field(data, "name", errors, max_length=MAX_NAME)
    description = text_field(data, "description", errors, required=False, max_length=MAX_DESCRIPTION)
    category = data.get("category") or ""
    if not isinstance(category, str) or category not in CATEGORIES:
        errors["category"] = f"Choose one of: {', '.join(CATEGORIES)}."
    visibility = data.get("visibility") or "private"
    if not isinstance(visibility, str) or visibility not in VISIBILITIES:
        errors["visibility"] = "Choose private or public."
    tags, tag_error = _tags(data.get("tags"))
    if tag_error:
        errors["tags"] = tag_error
    definition, definition_errors = flow_definition.validate(data.get("definition", ""))
    errors.update(definition_errors)
    inputs: list[flow_definition.SecretInput] = []
    if definition:
        definition, inputs = flow_definition.strip_secrets(definition)
    if errors:
        raise ValidationFailed("Fix the highlighted fields; nothing was saved.", errors)
    return TemplateInput(name, description, category, tags, visibility, definition or {}, tuple(inputs))


@dataclass(frozen=True)
class BrowseFilters:
    category: str = ""
    visibility: str = "all"
    tenant: str = ""  # staff: whose private templates to include
    sort: str = "popular"
    q: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, Any], *, strict: bool = False) -> BrowseFilters:
        """Filters from a query string. Pages fall back to defaults; the API (`strict`) names the bad one."""
        values = {
            "category": (params.get("category") or "").strip(),
            "visibility": (params.get("visibility") or "all").strip(),
            "tenant": (params.get("tenant") or "").strip(),
            "sort": (params.get("sort") or "popular").strip(),
            "q": (params.get("q") or "").strip()[:100],
        }
        allowed = {"category": CATEGORIES, "visibility": VISIBILITY_FILTERS, "sort": SORTS}
        errors = {}
        for name, choices in allowed.items():
            if values[name] and values[name] not in choices:
                errors[name] = f"Use one of: {', '.join(choices)}."
                values[name] = cls.__dataclass_fields__[name].default
        if strict and errors:
            raise ValidationFailed("Unknown filter value.", errors)
        return cls(**values)

    def cursor_salt(self) -> str:
        """What a page cursor is signed with, so a cursor only continues the list it came from."""
        return f"{self.category}|{self.visibility}|{self.tenant}|{self.sort}|{self.q.lower()}"


def as_version(value) -> int | None:
    """A version the page or the API sends back (`expected_version`): an int, or None when it is not one."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
