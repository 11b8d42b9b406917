"""Moving a table's items to a new key layout (DynamoDB cannot change a table's key schema in place).

When a model's keys change (for instance run log lines keyed by `tenant#experiment#run` instead of the
client's run id alone), `create_tables` finds the live table's key schema differs and migrates it:

1. copy every item into `<table>--rekey`, each rewritten by the model's `rekey_raw(item)`;
2. delete the old table and create it again from the model (keys, indexes, TTL);
3. copy the items back and drop `<table>--rekey`.

Each step is idempotent (puts of whole items), so an interrupted migration, run again, finishes the job:
the temporary table's existence says where it stopped. This reads whole tables: it runs from the
management command only, never on a request path.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from botocore.exceptions import ClientError

from dashboard.dynamo.base import client_of

SUFFIX = "--rekey"
BATCH = 25


def _client(model):
    return client_of(model)


def _key_names(key_schema: list[dict]) -> list[tuple[str, str]]:
    return sorted((key["KeyType"], key["AttributeName"]) for key in key_schema)


def _describe(client, name: str) -> dict | None:
    try:
        return client.describe_table(TableName=name)["Table"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise


def needs_rekey(model) -> bool:
    """True when the live table holds another key layout than the model (or a migration was cut)."""
    client = _client(model)
    if _describe(client, model.Meta.table_name + SUFFIX) is not None:
        return True
    live = _describe(client, model.Meta.table_name)
    if live is None:
        return False
    return _key_names(live["KeySchema"]) != _key_names(model._get_schema()["key_schema"])


def _wait(client, name: str, *, gone: bool = False, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        table = _describe(client, name)
        if gone and table is None:
            return
        if not gone and table is not None and table.get("TableStatus") == "ACTIVE":
            return
        time.sleep(0.5)
    raise TimeoutError(f"Table {name} did not become {'deleted' if gone else 'active'} in time.")


def _items(client, name: str) -> Iterator[dict]:
    for page in client.get_paginator("scan").paginate(TableName=name):
        yield from page.get("Items", [])


def _copy(client, source: str, target: str, transform: Callable[[dict], dict] | None) -> int:
    copied = 0
    batch: list[dict] = []

    def flush() -> None:
        requests = {target: [{"PutRequest": {"Item": item}} for item in batch]}
        while requests:
            answer = client.batch_write_item(RequestItems=requests)
            requests = answer.get("UnprocessedItems") or {}
            if requests:
                time.sleep(0.2)

    for item in _items(client, source):
        batch.append(transform(item) if transform else item)
        if len(batch) == BATCH:
            flush()
            copied += len(batch)
            batch = []
    if batch:
        flush()
        copied += len(batch)
    return copied


def rekey(model) -> str:
    """Migrate the model's table to the model's key layout; returns what was done, for the command."""
    client = _client(model)
    name = model.Meta.table_name
    temp = name + SUFFIX
    schema = model._get_schema()
    done = []
    live = _describe(client, name)
    if live is not None and _key_names(live["KeySchema"]) != _key_names(schema["key_schema"]):
        transform = getattr(model, "rekey_raw", None)
        if transform is None:
            raise RuntimeError(f"{name} has another key layout and {model.__name__} has no rekey_raw.")
        if _describe(client, temp) is None:
            key_attributes = {key["AttributeName"] for key in schema["key_schema"]}
            client.create_table(
                TableName=temp,
                KeySchema=schema["key_schema"],
                AttributeDefinitions=[
                    d for d in schema["attribute_definitions"] if d["AttributeName"] in key_attributes
                ],
                BillingMode="PAY_PER_REQUEST",
            )
            _wait(client, temp)
        done.append(f"{_copy(client, name, temp, transform)} items rekeyed")
        client.delete_table(TableName=name)
        _wait(client, name, gone=True)
    if _describe(client, temp) is not None:
        if not model.exists():
            model.create_table(wait=True)
        done.append(f"{_copy(client, temp, name, None)} items restored")
        client.delete_table(TableName=temp)
        _wait(client, temp, gone=True)
    return "migrated to new keys: " + ", ".join(done) if done else "keys unchanged"
