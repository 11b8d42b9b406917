"""Export and erase a tenant, exact on DynamoDB Local: two tenants seeded across every area by the demo
seeder (plus API keys, their usage and sessions), one exported and erased through a job that is
stopped and resumed; afterwards no item of any table names it, every other item is byte for byte
what it was, and the export holds exactly what was there.

The seeder's tenants are `acme` and `globex`, the session's own; so this module seeds them into tables
of their own (another table prefix) and puts the session's back after."""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import re
from collections import Counter
from datetime import date, timedelta

import pytest
from django.conf import settings

from dashboard.accounts import services as accounts
from dashboard.accounts.access import scope_for_user
from dashboard.accounts.models import RateLimitCounter, Tenant
from dashboard.analytics import template_costs
from dashboard.analytics.models import ExecutionRollup
from dashboard.apikeys import services as apikeys
from dashboard.apikeys.models import token_bucket, usage_bucket
from dashboard.audit.models import AuditEvent
from dashboard.core import clock
from dashboard.core.errors import NotFound
from dashboard.core.seeding import SeedContext
from dashboard.demo.management.commands.seed_demo import seed_areas
from dashboard.dynamo import erase
from dashboard.dynamo.base import client_of
from dashboard.dynamo.tables import all_models
from dashboard.marketplace.models import AgentTemplate
from dashboard.operations import erasure
from dashboard.operations.models import TenantErasure
from tests.conftest import session_for, tables_of_their_own

GONE, KEPT = "globex", "acme"
# What the erase writes or meters itself: the job, the platform's audit partition, the metering.
NOT_COMPARED = {"tenant-erasures", "audit-events", "dynamo-usage"}


def raw_items(model) -> list[dict]:
    client = client_of(model)
    found = []
    for page in client.get_paginator("scan").paginate(TableName=model.Meta.table_name, ConsistentRead=True):
        found.extend(page.get("Items", []))
    return found


OWNED: dict[str, list[str]] = {}  # tenant -> marks of items that name it only through another item
TENANTS: set[str] = set()  # every tenant of the world: an item keyed by one is that tenant's


def names(raw: dict, tenant_id: str) -> bool:
    """Does the item name the tenant anywhere (a key, an attribute, an id built from it), or one of its
    API keys or templates (a key's usage, a rating of its template, its template's figures)? An item
    that says it is another tenant's, by its `tenant_id` or its key (a flow made from this tenant's
    template, its runs, their cost by template), is that tenant's, and stays."""
    owner = raw.get("tenant_id", {}).get("S")
    keyed_by = re.split("[#@]", raw.get("pk", {}).get("S", ""))[0]  # another tenant's rollups by template
    if (owner is not None and owner != tenant_id) or keyed_by in TENANTS - {tenant_id}:
        return False
    text = json.dumps(raw, default=repr)
    marks = (
        f'"{tenant_id}"',
        f"{tenant_id}#",
        f'"{tenant_id}@',
        f"#{tenant_id}",
        f"_{tenant_id}_",
        f"@{tenant_id}.",
    )  # `tenant@environment#…`: an environment's rollups (analytics.rollups.scope_id)
    return any(mark in text for mark in (*marks, *OWNED.get(tenant_id, ())))


def survives(model, raw: dict) -> bool:
    """The erase's own record: the job and the platform's audit partition outlive the tenant."""
    suffix = model.Meta.table_suffix
    return suffix == "tenant-erasures" or (suffix == "audit-events" and raw["tenant_id"]["S"] == "platform")


def snapshot() -> dict[str, list[str]]:
    return {
        model.Meta.table_suffix: sorted(
            json.dumps(raw, sort_keys=True, default=repr) for raw in raw_items(model)
        )
        for model in all_models()
    }


@pytest.fixture(scope="module")
def world(people):
    """The demo data of acme and globex in tables of their own, with keys, key usage and sessions."""
    with tables_of_their_own("erase"):
        ctx = SeedContext(
            rng=random.Random(31),
            now=clock.now(),
            # With flows made from the other tenant's templates (the demo seeds them): their
            # runs add to the platform-wide template figures.
            options={"executions": 240, "templates": 8, "models": 2, "log_lines": 30},
            quiet=True,
        )
        seed_areas(ctx)
        TENANTS.update(raw["tenant_id"]["S"] for raw in raw_items(Tenant))
        keys = {}
        staff = accounts.create_user(
            "staff@erase.test", "a long enough password 31", "staff", name="Sam Staff"
        )
        for tenant_id in (KEPT, GONE):
            scope = scope_for_user(staff)
            key = apikeys.create_key(scope, tenant_id, f"{tenant_id} key").key
            expires = clock.now() + timedelta(days=2)
            RateLimitCounter(token_bucket(key.key_id), tat=1, expires_at=expires).save()
            RateLimitCounter(usage_bucket(key.key_id, date(2026, 12, 1)), count=3, expires_at=expires).save()
            session_for(ctx.admins[tenant_id][0])
            keys[tenant_id] = key.key_id
            templates = [
                raw["template_id"]["S"]
                for raw in raw_items(AgentTemplate)
                if raw["tenant_id"]["S"] == tenant_id
            ]
            OWNED[tenant_id] = [
                f":{key.key_id}",
                *(f'"{template}"' for template in templates),
                *(f'"{template}#' for template in templates),  # a template's daily figures: `<id>#<shard>`
                *(f'"~returned#{template}"' for template in templates),
            ]
        yield {"staff": staff, "ctx": ctx, "keys": keys}


def test_every_table_is_erased_by_its_area_or_holds_no_tenant_data():
    covered = {table.model for table in erasure.tenant_tables()}
    assert {model.__name__ for model in all_models() if model not in covered} == {
        "SignInPolicy",
        "TenantErasure",
    }


def test_export_and_erase_are_exact_and_resume_where_they_stopped(world, monkeypatch, tmp_path):
    monkeypatch.setattr(settings, "TENANT_EXPORT_DIR", tmp_path)
    monkeypatch.setattr(erase, "PAGE", 40)  # many pages per table: the stops below land mid-table
    staff = scope_for_user(world["staff"])
    before = snapshot()
    gone_before = Counter()
    for model in all_models():
        for raw in raw_items(model):
            if names(raw, GONE) and not survives(model, raw):
                gone_before[model.Meta.table_suffix] += 1
    # Every area has something of the tenant to erase.
    for suffix in (
        "agent-execution-history",
        "execution-rollups",
        "rollup-digests",
        "trace-spans",
        "experiment-run-logs",
        "experiments",
        "lab-model-registry",
        "studio-flows",
        "agent-templates",
        "template-ratings",
        "alert-rules",
        "api-keys",
        "rate-limits",
        "users",
        "sessions",
        "tenants",
    ):
        assert gone_before[suffix] > 0, suffix
    # The platform-wide figures of its templates (the other tenant's runs of them), and of the other
    # tenant's templates it ran: the first go, the second stay with a mark that does not name it.
    figures = [
        raw for raw in raw_items(ExecutionRollup) if raw["pk"]["S"].startswith(template_costs.DAY_PREFIX)
    ]
    assert any(names(raw, GONE) for raw in figures)
    assert any(
        not names(raw, GONE) and template_costs.tenant_mark(GONE) in raw["tenants"]["SS"] for raw in figures
    )

    # An uninterrupted export, to compare the interrupted one with.
    whole = erasure.start(staff, GONE, export_only=True)
    whole = erasure.run(whole.job_id)
    assert whole.status == "exported"

    job = erasure.start(staff, GONE)
    job = erasure.run(job.job_id, pages=7)
    assert job.status == "exporting"
    # The worker dies after writing a page it never recorded: that page is read and written again.
    current = next(name for name, progress in job.tables.items() if not progress["done"])
    with gzip.open(erasure.export_dir(job) / f"{current}.ndjson.gz", "ab") as out:
        out.write(b'{"written": "by a worker that stopped"}\n')
    while job.status == "exporting":  # a new worker, step by step, up to the end of the export
        job = erasure.run(job.job_id, pages=1)
    assert job.status == "erasing"
    assert job.manifest is not None
    job = erasure.run(job.job_id, pages=4)
    assert job.status == "erasing"
    job = erasure.run(job.job_id)  # the stopped erase, resumed
    assert job.status == "erased"
    assert job.rounds == 2  # the second sweep, to be sure, found nothing left (nothing was written meanwhile)

    # The export: each file what the uninterrupted one holds, counted and hashed by the manifest.
    exported = Counter()
    for table in erasure.tenant_tables():
        entry = job.manifest["tables"][table.name]
        path = erasure.export_dir(job) / entry["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
        lines = gzip.decompress(path.read_bytes()).splitlines()
        other = gzip.decompress((erasure.export_dir(whole) / entry["file"]).read_bytes()).splitlines()
        if table.name == "tenants":
            # The erase exports the tenant's item as it found it: marked as being erased since it started.
            [tenant_item] = [json.loads(line) for line in lines]
            assert tenant_item.pop("erasing_job_id") == {"S": job.job_id} and tenant_item.pop("erasing_since")
            tenant_item["version"] = {"N": str(int(tenant_item["version"]["N"]) - 1)}
            lines = [json.dumps(tenant_item, sort_keys=True).encode()]
        assert sorted(lines) == sorted(other), table.name
        assert len(lines) == entry["items"] == job.tables[table.name]["erased"]
        exported[table.model.Meta.table_suffix] += len(lines)
    assert json.loads((erasure.export_dir(job) / "manifest.json").read_text()) == job.manifest
    assert {k: v for k, v in exported.items() if v} == dict(gone_before)

    # Nothing of the tenant is left anywhere; everything else is exactly as it was.
    after = snapshot()
    for model in all_models():
        left = [raw for raw in raw_items(model) if names(raw, GONE) and not survives(model, raw)]
        assert left == [], model.Meta.table_suffix
    for suffix, items in before.items():
        if suffix in NOT_COMPARED:
            continue
        kept = [item for item in items if not names(json.loads(item), GONE)]  # the JSON of names()
        assert after[suffix] == kept, suffix
    assert any(names(json.loads(item), KEPT) for item in after["agent-execution-history"])
    # A key's usage names its key only: the erased tenant's went with its key, the other's stayed.
    buckets = {raw["bucket"]["S"] for raw in raw_items(RateLimitCounter)}
    assert sum(world["keys"][KEPT] in bucket for bucket in buckets) == 2

    # The audit record outlives the tenant, in the platform's partition.
    events = [event for event in AuditEvent.query("platform") if event.target_id == GONE]
    assert [event.action for event in events if event.changes.get("job") == job.job_id] == [
        "tenant.erase.start",
        "tenant.export",
        "tenant.erased",
    ]
    erased_event = next(event for event in events if event.action == "tenant.erased")
    assert erased_event.changes["total"] == sum(gone_before.values())
    assert TenantErasure.get("erasure", job.job_id).status == "erased"
    with pytest.raises(NotFound):
        erasure.start(staff, GONE)  # no such tenant any more


def test_only_staff_start_an_erase(world, people):
    with pytest.raises(NotFound):
        erasure.start(scope_for_user(people["admin of acme"]), "acme")
