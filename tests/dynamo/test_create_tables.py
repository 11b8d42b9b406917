from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command

from dashboard.analytics.models import Execution
from dashboard.dynamo import base, local
from dashboard.dynamo.base import connection
from dashboard.experiments.models import RunLogLine
from dashboard.marketplace.models import AgentTemplate


def run(command: str, *args) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def test_running_create_tables_again_leaves_every_table_as_it_is(dynamodb_local):
    first = run("create_tables")
    second = run("create_tables")
    lines = second.strip().splitlines()
    assert len(lines) == len(first.strip().splitlines()) >= 20
    assert all(line.split()[-1] == "exists" for line in lines)


def test_tables_carry_the_prefix_and_list_like_the_aws_cli_shows_them(dynamodb_local):
    pages = connection().client.get_paginator("list_tables").paginate()
    names = [name for page in pages for name in page["TableNames"]]
    for suffix in (
        "agent-templates",
        "flow-node-configs",
        "agent-execution-history",
        "lab-model-registry",
        "experiment-run-logs",
        "users",
        "projects",
        "studio-flows",
        "studio-nodes",
        "studio-edges",
        "studio-snapshots",
        "experiments",
        "experiment-runs",
        "datasets",
        "models",
        "sessions",
        "api-keys",
        "audit-events",
        "template-ratings",
        "execution-rollups",
    ):
        assert f"{settings.DYNAMODB_TABLE_PREFIX}-{suffix}" in names


def test_ttl_is_on_for_executions_and_run_logs(dynamodb_local):
    client = connection().client
    for model, attribute in ((Execution, "expires_at"), (RunLogLine, "expires_at")):
        ttl = client.describe_time_to_live(TableName=model.Meta.table_name)["TimeToLiveDescription"]
        assert ttl["TimeToLiveStatus"] == "ENABLED" and ttl["AttributeName"] == attribute


def test_the_template_table_has_its_browse_listing_tenant_and_queue_indexes(dynamodb_local):
    indexes = {index["IndexName"] for index in AgentTemplate.describe_table()["GlobalSecondaryIndexes"]}
    assert {
        "feed_category-created_at-index",
        "listing-usage_count-index",
        "tenant_id-updated_at-index",
        "moderation_status-submitted_at-index",
    } <= indexes


def test_describe_tables_prints_keys_indexes_and_counts(dynamodb_local):
    output = run("describe_tables")
    assert f"{settings.DYNAMODB_TABLE_PREFIX}-agent-execution-history" in output
    assert "key:    agent_key / sk" in output
    assert "index:  tenant_status-started_at-index (tenant_status + started_at)" in output
    assert "items:" in output


def test_staff_see_the_same_on_the_tables_page(staff):
    html = staff.get("/account/tables/").content.decode()
    assert f"{settings.DYNAMODB_TABLE_PREFIX}-lab-model-registry" in html
    assert "environment-deployed_at-index" in html


@pytest.fixture
def own_engine(tmp_path):
    """A DynamoDB Local of this test's own: the engine builds and drops indexes in one background
    queue per process, which the session's other tests (index drops, big tables) can hold for
    minutes; a fresh engine builds this test's index at once."""
    port = local.free_port()
    process = local.start(port, data_dir=None, log_path=tmp_path / "dynamodb-local.log")
    shared = settings.DYNAMODB_ENDPOINT_URL
    settings.DYNAMODB_ENDPOINT_URL = f"http://127.0.0.1:{port}"
    base.reconfigure()
    try:
        yield
    finally:
        settings.DYNAMODB_ENDPOINT_URL = shared
        base.reconfigure()
        local.stop_process(process)


def test_an_index_added_to_a_model_later_is_created_on_the_existing_table(own_engine):
    from pynamodb.attributes import UnicodeAttribute
    from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

    from dashboard.dynamo import base
    from dashboard.dynamo.tables import ensure_table

    class ByColour(GlobalSecondaryIndex):
        class Meta:
            index_name = "colour-index"
            projection = AllProjection()

        colour = UnicodeAttribute(hash_key=True)

    class Before(base.DynamoModel):
        Meta = base.table_meta("evolving")
        thing_id = UnicodeAttribute(hash_key=True)

    class After(base.DynamoModel):
        Meta = base.table_meta("evolving")
        thing_id = UnicodeAttribute(hash_key=True)
        colour = UnicodeAttribute(null=True)
        by_colour = ByColour()

    try:
        assert ensure_table(Before) == "created"
        assert ensure_table(After) == "exists, index colour-index added"
        After(thing_id="a", colour="blue").save()
        assert [item.thing_id for item in After.by_colour.query("blue")] == ["a"]
        assert ensure_table(After) == "exists"
    finally:
        base.MODELS.remove(Before)
        base.MODELS.remove(After)
        After.delete_table()
