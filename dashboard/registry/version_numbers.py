"""Version strings of a model: semantic versions (1.4.0, 2.0.0-rc.1) or increasing integers (7).

DynamoDB sorts the registry's range key as text ("10" before "9"), so display order comes from
`sort_key` here, never from the table.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TypeVar

from dashboard.core.errors import ValidationFailed

INTEGER = "integer"
SEMVER = "semver"

# The grammar of semver.org 2.0.0 (no leading zeros in numeric parts).
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
_INTEGER = re.compile(r"^(0|[1-9]\d{0,17})$")

T = TypeVar("T")


def scheme_of(version: str) -> str:
    """The scheme of a version string, or ValidationFailed saying what a version may look like."""
    if _INTEGER.match(version):
        return INTEGER
    if _SEMVER.match(version):
        return SEMVER
    raise ValidationFailed(
        f"“{version}” is not a version: use a semantic version such as 1.4.0 or an integer such as 7.",
        {"version": "Use a semantic version (1.4.0, 2.0.0-rc.1) or an integer (7)."},
    )


def sort_key(version: str) -> tuple:
    """Orders versions the way people read them: 2 < 10, 1.0.0-rc.1 < 1.0.0 < 1.0.1."""
    if _INTEGER.match(version):
        return (0, int(version), (), ())
    match = _SEMVER.match(version)
    if not match:
        return (2, 0, (), (version,))  # unknown shapes last, in text order
    major, minor, patch, prerelease, _build = match.groups()
    # A release sorts after its pre-releases; numeric identifiers before alphanumeric ones.
    pre = (
        tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in prerelease.split("."))
        if prerelease
        else ((2, 0, ""),)
    )
    return (1, (int(major), int(minor), int(patch)), pre, ())


def newest_first(items: Iterable[T], key=lambda item: item) -> list[T]:
    return sorted(items, key=lambda item: sort_key(key(item)), reverse=True)


def oldest_first(items: Iterable[T], key=lambda item: item) -> list[T]:
    return sorted(items, key=lambda item: sort_key(key(item)))


def is_newer(candidate: str, than: str | None) -> bool:
    return than is None or sort_key(candidate) > sort_key(than)
