"""Reading and deleting every item of one tenant in one table, a bounded page at a time.

Used only by the tenant erasure job (dashboard.operations.erasure), staff's "export and erase": each
area says which of its items are a tenant's (`TenantTable`, declared in that area's services), and this
module walks the table with a paginated Scan filtered on that condition. A Scan is acceptable here and
nowhere on a request path: the job runs in the background worker or the `erase_tenant` command, a few
hundred items per step, and must find every item, including those no index lists by tenant.

Items travel as DynamoDB's own JSON (the low-level `Items`), so the export holds exactly what was
stored, types included, and the delete needs only the item's key attributes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from dashboard.dynamo.base import client_of
from dashboard.dynamo.transactions import Backoff

PAGE = 200  # items a step evaluates per table (the Scan's Limit counts before the filter)
BATCH = 25  # BatchWriteItem's most


@dataclass(frozen=True)
class TenantTable:
    """One kind of a tenant's items in one table.

    `condition(tenant_id)` is the Scan's filter (a PynamoDB condition on the area's own attributes);
    `select(tenant_id)`, when given, returns a further test of each raw item, for items that name the
    tenant only through another item (a session through its user, a rate-limit bucket through its key).
    `name` is the label of the export file and the job's progress row (unique over the registry).
    """

    name: str
    model: type
    condition: Callable[[str], object]
    select: Callable[[str], Callable[[dict], bool]] | None = None


def _cursor_in(cursor: str | None) -> dict | None:
    return json.loads(cursor) if cursor else None


def page_of(
    table: TenantTable, tenant_id: str, cursor: str | None, limit: int = PAGE
) -> tuple[list[dict], str | None]:
    """The tenant's raw items among the next `limit` items of the table after `cursor`, and the cursor
    after them (None at the end of the table)."""
    connection = table.model._get_connection()
    answer = connection.scan(
        filter_condition=table.condition(tenant_id),
        limit=limit,
        exclusive_start_key=_cursor_in(cursor),
        consistent_read=True,
    )
    items = answer.get("Items", [])
    if table.select is not None:
        keep = table.select(tenant_id)
        items = [item for item in items if keep(item)]
    last = answer.get("LastEvaluatedKey")
    return items, json.dumps(last, sort_keys=True) if last else None


def key_of(model: type, raw: dict) -> dict:
    keys = [model._hash_key_attribute(), model._range_key_attribute()]
    return {key.attr_name: raw[key.attr_name] for key in keys if key is not None}


def delete(model: type, raw_items: list[dict]) -> int:
    """Delete the items (by key, 25 per BatchWriteItem, unprocessed ones sent again); how many."""
    client = client_of(model)
    name = model.Meta.table_name
    for start in range(0, len(raw_items), BATCH):
        requests = {
            name: [{"DeleteRequest": {"Key": key_of(model, raw)}} for raw in raw_items[start : start + BATCH]]
        }
        backoff = Backoff(attempts=10)
        while requests:
            requests = client.batch_write_item(RequestItems=requests).get("UnprocessedItems") or {}
            if requests:
                backoff.wait()
    return len(raw_items)
