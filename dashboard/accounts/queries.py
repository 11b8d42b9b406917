"""Reads of accounts that other areas use: one item of any area's table read for a scope.

`get_in_scope`: missing, malformed and other-tenant ids all look the same (404)."""

from __future__ import annotations

from typing import TypeVar

from pynamodb.exceptions import DoesNotExist

from dashboard.accounts.scope import AccessScope
from dashboard.core.errors import NotFound

# Ids we mint are short; DynamoDB refuses empty or very long keys outright (a 400 that would become a 500).
MAX_KEY_LENGTH = 200

M = TypeVar("M")


def get_in_scope(
    scope: AccessScope, model: type[M], hash_key, range_key=None, *, what: str, consistent_read: bool = False
) -> M:
    """The item at this key if the scope may read its tenant; NotFound("<what> was not found.") otherwise."""
    for key in (hash_key, range_key):
        if isinstance(key, str) and not 0 < len(key) <= MAX_KEY_LENGTH:
            raise NotFound(f"{what} was not found.")
    try:
        item = model.get(hash_key, range_key, consistent_read=consistent_read)
    except DoesNotExist:
        raise NotFound(f"{what} was not found.") from None
    scope.check_tenant(item.tenant_id, what)
    return item
