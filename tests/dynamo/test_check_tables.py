"""`manage.py check_tables` against DynamoDB Local, on a throwaway prefix (the shared tables stay as they are)."""

from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from dashboard.accounts.models import SessionItem
from dashboard.dynamo import base, infra
from dashboard.dynamo.tables import ensure_tables
from dashboard.flows.models import FlowNode
from dashboard.marketplace.models import TemplateRating
from tests.conftest import unique


def tables_under_own_prefix():
    """Every table of the models under a prefix of its own (the session's `test-` tables stay untouched)."""
    prefix = unique("drift").lower()
    settings.DYNAMODB_TABLE_PREFIX = prefix
    base.reconfigure()
    for _name, _done in ensure_tables():
        pass
    yield prefix
    settings.DYNAMODB_TABLE_PREFIX = "test"
    base.reconfigure()


@pytest.fixture(scope="module")
def intact_tables(dynamodb_local):
    yield from tables_under_own_prefix()


@pytest.fixture
def own_tables(dynamodb_local):
    yield from tables_under_own_prefix()


def recreate_without_index(client, table: str, index: str) -> None:
    """The table as it is, but for one index (an empty table of this test's own prefix)."""
    described = client.describe_table(TableName=table)["Table"]
    indexes = [
        {key: one[key] for key in ("IndexName", "KeySchema", "Projection")}
        for one in described.get("GlobalSecondaryIndexes", [])
        if one["IndexName"] != index
    ]
    used = {key["AttributeName"] for key in described["KeySchema"]} | {
        key["AttributeName"] for one in indexes for key in one["KeySchema"]
    }
    client.delete_table(TableName=table)
    client.get_waiter("table_not_exists").wait(TableName=table, WaiterConfig={"Delay": 0.2})
    client.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=described["KeySchema"],
        AttributeDefinitions=[a for a in described["AttributeDefinitions"] if a["AttributeName"] in used],
        **({"GlobalSecondaryIndexes": indexes} if indexes else {}),
    )
    assert index not in {
        one["IndexName"]
        for one in client.describe_table(TableName=table)["Table"].get("GlobalSecondaryIndexes", [])
    }


def check_tables() -> tuple[str, CommandError | None]:
    out = StringIO()
    try:
        call_command("check_tables", stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def test_tables_as_the_models_define_them_pass(intact_tables):
    out, error = check_tables()
    assert error is None, out
    assert "tables match the models" in out


def test_each_difference_is_printed_and_the_exit_status_is_1(own_tables):
    client = infra._client()
    sessions = f"{own_tables}-sessions"
    # An index dropped by hand, another added by hand. The table is made again without the index:
    # DynamoDB Local drops an index in a background queue that a busy session can hold for minutes,
    # while dropping and creating a table answer at once.
    edges = f"{own_tables}-studio-edges"
    recreate_without_index(client, sessions, "user_id-index")
    client.update_table(
        TableName=edges,
        AttributeDefinitions=[{"AttributeName": "data", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[
            {
                "Create": {
                    "IndexName": "by-data",
                    "KeySchema": [{"AttributeName": "data", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                }
            }
        ],
    )
    # TTL off: the table made again has none.
    # A table that is gone, and one created with the wrong key.
    TemplateRating.delete_table()
    FlowNode.delete_table()
    client.create_table(
        TableName=f"{own_tables}-studio-nodes",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "flow_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "flow_id", "KeyType": "HASH"}],
    )

    out, error = check_tables()

    assert error is not None and error.returncode == 1
    lines = set(out.splitlines())
    assert f"{sessions}: index user_id-index is missing" in lines
    assert f"{edges}: index by-data exists but no model defines it" in lines
    assert f"{sessions}: TTL is off (the model expires items by expires_at)" in lines
    assert (
        f"{own_tables}-template-ratings: the table is missing (run `manage.py create_tables` or `terraform apply`)"
        in lines
    )
    assert f"{own_tables}-studio-nodes: key schema is flow_id, the model says flow_id / node_id" in lines
    assert len(lines) == 5, out
    assert "5 difference(s)" in str(error)


def test_in_production_point_in_time_recovery_off_is_drift(intact_tables, settings):
    settings.ENVIRONMENT = "production"
    out, error = check_tables()
    assert error is not None
    # DynamoDB Local answers no DescribeContinuousBackups: unconfirmed counts as off.
    lines = out.splitlines()
    assert (
        f"{SessionItem.Meta.table_name}: point-in-time recovery is off in production (status: unknown)"
        in lines
    )


def test_an_unreachable_database_is_one_clear_sentence(dynamodb_local, settings):
    from dashboard.dynamo import local

    settings.DYNAMODB_ENDPOINT_URL = f"http://127.0.0.1:{local.free_port()}"
    with pytest.raises(CommandError, match="cannot be used: the database does not answer"):
        call_command("check_tables", stdout=StringIO())
