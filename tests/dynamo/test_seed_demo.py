from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command

from dashboard.dynamo import base
from dashboard.dynamo.tables import all_models
from dashboard.flows.models import Project

SMALL = ["--executions", "400", "--templates", "15", "--models", "2", "--log-lines", "40", "--quiet"]


@pytest.fixture
def prefix(dynamodb_local):
    """Seed into tables of their own so the demo tenants do not meet the test tenants."""
    real = settings.DYNAMODB_TABLE_PREFIX

    def use(name: str) -> None:
        settings.DYNAMODB_TABLE_PREFIX = name
        base.reconfigure()

    yield use
    use(real)


def seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *SMALL, *args, stdout=out)
    return out.getvalue()


def test_seed_demo_fills_every_table_and_prints_the_logins(prefix):
    prefix("seeda")
    output = seed("--seed", "3")
    assert "staff@diatonic.test" in output and "ada@acme.test" in output
    empty = [
        model.Meta.table_name
        for model in all_models()
        # Filled by use, not by demo data: sign-ins, API traffic, alerts firing, metering of calls,
        # the overview's kept first pages (written by the first view once a bucket has settled).
        if model.Meta.table_suffix
        not in (
            "sessions",
            "rate-limits",
            "api-keys",
            "alert-firings",
            "alert-notifications",
            "dynamo-usage",
            "rollup-top-pages",
        )  # fmt: skip
        and model.describe_table()["ItemCount"] == 0
    ]
    assert empty == []


def test_the_same_seed_gives_the_same_data(prefix):
    projects = []
    for name in ("seedb", "seedc"):
        prefix(name)
        seed("--seed", "11")
        projects.append(sorted((p.project_id, p.name, p.tenant_id) for p in Project.by_tenant.query("acme")))
    assert projects[0] == projects[1] and projects[0]


def test_seeding_again_when_data_exists_does_nothing_but_print_logins(prefix):
    prefix("seedd")
    seed()
    output = seed("--if-empty")
    assert "already loaded" in output and "staff@diatonic.test" in output
