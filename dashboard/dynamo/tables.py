"""Creating and describing the tables of every registered model."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings

from dashboard.dynamo import rekey
from dashboard.dynamo.base import MODELS, client_of


def all_models() -> list:
    apps.check_models_ready()
    return sorted(MODELS, key=lambda model: model.Meta.table_name)


def _client(model):
    return client_of(model)


def _ttl_attribute(model) -> str | None:
    attribute = model._ttl_attribute()
    return attribute.attr_name if attribute else None


def _wait_for_index(model, index_name: str, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        indexes = model.describe_table().get("GlobalSecondaryIndexes", [])
        if any(i["IndexName"] == index_name and i.get("IndexStatus", "ACTIVE") == "ACTIVE" for i in indexes):
            return
        time.sleep(2)
    raise TimeoutError(
        f"Index {index_name} of {model.Meta.table_name} is still building; run create_tables again."
    )


def add_missing_indexes(model) -> list[str]:
    """Indexes added to a model after its table was created (DynamoDB builds one at a time)."""
    existing = {index["IndexName"] for index in model.describe_table().get("GlobalSecondaryIndexes", [])}
    added = []
    for index in model._get_schema()["global_secondary_indexes"]:
        if index["index_name"] in existing:
            continue
        _client(model).update_table(
            TableName=model.Meta.table_name,
            AttributeDefinitions=index["attribute_definitions"],
            GlobalSecondaryIndexUpdates=[
                {
                    "Create": {
                        "IndexName": index["index_name"],
                        "KeySchema": index["key_schema"],
                        "Projection": index["projection"],
                    }
                }
            ],
        )
        _wait_for_index(model, index["index_name"])
        added.append(index["index_name"])
    return added


def ensure_table(model) -> str:
    """Create the table (or its missing indexes, or migrate it to new keys) and make sure TTL is on.

    Returns what was done."""
    done = "exists"
    if rekey.needs_rekey(model):
        done = rekey.rekey(model)
    if not model.exists():
        model.create_table(wait=True)
        done = "created"
    else:
        for index_name in add_missing_indexes(model):
            done += f", index {index_name} added"
    ttl_name = _ttl_attribute(model)
    if ttl_name:
        status = _client(model).describe_time_to_live(TableName=model.Meta.table_name)
        if status["TimeToLiveDescription"].get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            _client(model).update_time_to_live(
                TableName=model.Meta.table_name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_name},
            )
            done += ", TTL enabled"
    if not settings.DYNAMODB_ENDPOINT_URL and done.startswith("created"):
        # Real AWS only: point-in-time recovery (DynamoDB encrypts every table at rest already).
        _client(model).update_continuous_backups(
            TableName=model.Meta.table_name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
        done += ", PITR enabled"
    return done


def ensure_tables() -> Iterator[tuple[str, str]]:
    for model in all_models():
        yield model.Meta.table_name, ensure_table(model)


@dataclass
class TableInfo:
    name: str
    keys: str
    indexes: list[str]
    ttl: str
    item_count: int
    status: str


def describe(model) -> TableInfo:
    table = model.describe_table()
    key = " / ".join(k["AttributeName"] for k in table["KeySchema"])
    indexes = [
        f"{index['IndexName']} ({' + '.join(k['AttributeName'] for k in index['KeySchema'])})"
        for index in table.get("GlobalSecondaryIndexes", [])
    ]
    ttl = _client(model).describe_time_to_live(TableName=model.Meta.table_name)["TimeToLiveDescription"]
    ttl_text = (
        f"{ttl.get('AttributeName')} ({ttl['TimeToLiveStatus'].lower()})" if ttl.get("AttributeName") else "—"
    )
    return TableInfo(
        name=model.Meta.table_name,
        keys=key,
        indexes=indexes,
        ttl=ttl_text,
        item_count=int(table.get("ItemCount", 0)),
        status=table.get("TableStatus", "?"),
    )
