"""create_tables moves items written under an old key layout to the new one (run logs keyed per tenant)."""

from __future__ import annotations

import pytest
from django.conf import settings

from dashboard.dynamo import base, rekey
from dashboard.dynamo.base import client_of
from dashboard.dynamo.tables import ensure_table
from dashboard.experiments import lines
from dashboard.experiments.models import RunLogLine, run_key
from tests.conftest import unique

OLD_LINE = {
    "run_id": {"S": "run-1"},
    "sk": {"S": "1764000000000#0000000001"},
    "experiment_id": {"S": "exp-1"},
    "tenant_id": {"S": "acme"},
    "run_component": {"S": "run-1#trainer"},
    "run_severity": {"S": "run-1#info"},
    "ts_ms": {"N": "1764000000000"},
    "severity": {"S": "info"},
    "component": {"S": "trainer"},
    "message": {"S": "epoch 1"},
    "expires_at": {"N": "4000000000"},
}


@pytest.fixture
def own_prefix(dynamodb_local):
    real = settings.DYNAMODB_TABLE_PREFIX
    settings.DYNAMODB_TABLE_PREFIX = unique("rk").replace("_", "-")
    base.reconfigure()
    yield
    for name in (RunLogLine.Meta.table_name, RunLogLine.Meta.table_name + rekey.SUFFIX):
        try:
            _client().delete_table(TableName=name)
        except _client().exceptions.ResourceNotFoundException:
            pass
    settings.DYNAMODB_TABLE_PREFIX = real
    base.reconfigure()


def _client():
    return client_of(RunLogLine)


def _old_table(name: str) -> None:
    _client().create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "run_id", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "run_id", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def _the_line_reads_under_its_new_key() -> None:
    key = run_key("acme", "exp-1", "run-1")
    [line] = list(RunLogLine.query(key))
    assert (line.message, line.tenant_id, line.experiment_key) == ("epoch 1", "acme", "acme#exp-1")
    assert [x.message for x in RunLogLine.by_component.query(lines.run_component(key, "trainer"))] == [
        "epoch 1"
    ]
    assert list(RunLogLine.query("run-1")) == []  # the client's run id alone is no key any more


def test_an_old_table_is_migrated_to_tenant_scoped_keys(own_prefix):
    _old_table(RunLogLine.Meta.table_name)
    _client().put_item(TableName=RunLogLine.Meta.table_name, Item=OLD_LINE)

    done = ensure_table(RunLogLine)

    assert "migrated to new keys: 1 items rekeyed, 1 items restored" in done
    _the_line_reads_under_its_new_key()
    assert ensure_table(RunLogLine).startswith("exists")  # running it again changes nothing


def test_a_migration_cut_half_way_finishes_when_run_again(own_prefix):
    # Cut after the old table was dropped: only the temporary copy (already rekeyed) is left.
    temp = RunLogLine.Meta.table_name + rekey.SUFFIX
    _client().create_table(
        TableName=temp,
        KeySchema=[
            {"AttributeName": "run_key", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "run_key", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    _client().put_item(TableName=temp, Item=RunLogLine.rekey_raw(OLD_LINE))

    done = ensure_table(RunLogLine)

    assert "1 items restored" in done
    _the_line_reads_under_its_new_key()
    assert not rekey.needs_rekey(RunLogLine)
