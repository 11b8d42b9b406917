import re
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command

from dashboard.analytics import services as analytics_services
from dashboard.core import clock
from dashboard.dynamo import base
from dashboard.dynamo.tables import all_models
from dashboard.flows.models import Project
from tests.conftest import tables_of_their_own

SMALL = ["--executions", "400", "--templates", "15", "--models", "2", "--log-lines", "40", "--quiet"]


@pytest.fixture
def prefix(dynamodb_local):
    """Seed into tables of their own so the demo tenants do not meet the test tenants."""
    real = settings.DYNAMODB_TABLE_PREFIX

    def use(name: str) -> None:
        settings.DYNAMODB_TABLE_PREFIX = name
        base.reconfigure()
        # Ids repeat from one seeded set of tables to the next: what the process remembers of the
        # last set's flows (which template each came from) is not true of the new one.
        analytics_services._template_cache.clear()

    yield use
    use(real)


def seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *SMALL, *args, stdout=out)
    return out.getvalue()


# The small demo with more executions (its 400 leave the smallest tenant a few template runs).
DEMO = ("--seed", "5", "--executions", "2000")


@pytest.fixture(scope="module")
def demo(dynamodb_local):
    """One seeded demo, in tables of its own, shared by the tests that only read it (a seed takes
    about 40 s here): what `seed_demo` printed."""
    with tables_of_their_own("seeda"):
        yield seed(*DEMO)


def test_seed_demo_fills_every_table_and_prints_the_logins(demo):
    output = demo
    assert "staff@diatonic.test" in output and "ada@acme.test" in output
    empty = [
        model.Meta.table_name
        for model in all_models()
        # Filled by use, not by demo data: sign-ins, API traffic, alerts firing, metering of calls,
        # the overview's kept first pages (written by the first view once a bucket has settled),
        # staff prices and the re-pricing runs they start (the demo prices from the catalogue).
        if model.Meta.table_suffix
        not in (
            "sessions",
            "rate-limits",
            "api-keys",
            "alert-firings",
            "alert-notifications",
            "dynamo-usage",
            "rollup-top-pages",
            "model-prices",
            "price-changes",
            # Alert evaluation state, budget requests, saved log views and the sign-in policy: by use.
            "alert-states",
            "budget-requests",
            "experiment-log-views",
            "sign-in-policy",
            "tenant-erasures",  # staff's export-and-erase jobs
            "passkeys",  # registered by people in their browser
        )  # fmt: skip
        and model.describe_table()["ItemCount"] == 0
    ]
    assert empty == []


def _projects() -> list[tuple]:
    return sorted((p.project_id, p.name, p.tenant_id) for p in Project.by_tenant.query("acme"))


def test_the_same_seed_gives_the_same_data(demo, prefix):
    projects = [_projects()]
    prefix("seedb")
    seed(*DEMO)
    projects.append(_projects())
    assert projects[0] == projects[1] and projects[0]


def test_seeding_again_when_data_exists_does_nothing_but_print_logins(demo):
    output = seed("--if-empty")
    assert "already loaded" in output and "staff@diatonic.test" in output


ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?")
LATER_ON_PURPOSE = {"expires_at", "purge_at"}  # TTLs and an invitation link's end


def _moments(value):
    """Every point in time inside an attribute value (datetimes, ISO strings, also nested)."""
    if isinstance(value, datetime):
        yield value
    elif isinstance(value, str):
        match = ISO.match(value)
        if match:
            yield datetime.fromisoformat(match.group(0).replace("Z", "+00:00"))
    elif isinstance(value, dict):
        for item in value.values():
            yield from _moments(item)
    elif isinstance(value, list | set | tuple):
        for item in value:
            yield from _moments(item)
    elif hasattr(value, "attribute_values"):  # a MapAttribute
        yield from _moments(value.attribute_values)


def test_nothing_in_the_demo_lies_in_the_future(demo):
    now = clock.now() + timedelta(seconds=5)
    future = []
    for model in all_models():
        for item in model.scan():
            for name, value in item.attribute_values.items():
                if name in LATER_ON_PURPOSE:
                    continue
                for moment in _moments(value):
                    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
                    if moment > now:
                        future.append(f"{model.Meta.table_suffix}.{name} = {value!r}")
            for name in ("start_ns", "end_ns"):
                ns = item.attribute_values.get(name)
                if ns and datetime.fromtimestamp(int(ns) / 1e9, UTC) > now:
                    future.append(f"{model.Meta.table_suffix}.{name} = {ns}")
            ts_ms = item.attribute_values.get("ts_ms")
            if ts_ms and datetime.fromtimestamp(int(ts_ms) / 1e3, UTC) > now:
                future.append(f"{model.Meta.table_suffix}.ts_ms = {ts_ms}")
    assert future == []


def test_the_demo_gives_templates_figures_from_three_tenants(demo):
    """Flows made from listed templates in every demo tenant run in the last weeks (issue #28 §3), so
    `make run` shows what those templates cost on their cards."""
    from dashboard.analytics.queries.template_costs import template_figures
    from dashboard.flows.models import Flow

    made = {flow.source_template_id for flow in Flow.scan() if flow.source_template_id}
    figures = template_figures(made)
    shown = [summary for summary in figures.values() if summary.enough]
    assert shown and all(summary.tenants == 3 and summary.runs > 0 for summary in shown)
    # The cost overview of a demo tenant lists its costliest sessions and templates (issue #28 §2),
    # the templates by name (listed ones: any tenant may open them).
    from dashboard.analytics import overview
    from dashboard.analytics.inputs import Period
    from dashboard.core.scope import TENANT_ADMIN, AccessScope

    scope = AccessScope(TENANT_ADMIN, "usr_demo_check", "check@demo.test", "acme")
    figures = overview.build(scope, Period.last(30, clock.now().date()), "acme")
    assert len(figures.top_sessions) == 10 and figures.top_templates
    assert all(row.label and row.previous is not None for row in figures.top_templates)
