import random
from datetime import UTC, datetime

import pytest
from django.conf import settings

from dashboard.accounts.models import Tenant, User
from dashboard.audit.models import AuditEvent
from dashboard.core.seeding import SeedContext
from dashboard.dynamo import base
from dashboard.dynamo.tables import ensure_table
from dashboard.marketplace import demo as seed
from dashboard.marketplace.models import AgentTemplate, SearchToken, TemplateRating
from dashboard.marketplace.moderation import STATES as MODERATION_STATES

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def context(count: int = 60) -> SeedContext:
    ctx = SeedContext(rng=random.Random(5), now=NOW, options={"templates": count}, quiet=True)
    ctx.tenants = [Tenant(tenant_id=t, name=t.title(), created_at=NOW) for t in ("acme", "globex", "initech")]
    for tenant in ctx.tenants:
        ctx.admins[tenant.tenant_id] = [
            User(
                user_id=f"usr_{tenant.tenant_id}_{i}",
                email=f"a{i}@{tenant.tenant_id}.test",
                name="A",
                role="tenant_admin",
                tenant_id=tenant.tenant_id,
                password="x",
                created_at=NOW,
            )
            for i in range(2)
        ]
    ctx.moderators = [
        User(
            user_id="usr_mod",
            email="moderator@diatonic.test",
            name="M",
            role="moderator",
            password="x",
            created_at=NOW,
        )
    ]
    return ctx


def summary(ctx: SeedContext) -> list[tuple]:
    return [
        (t.template_id, t.name, t.moderation_status, t.usage_count, t.rating_sum, len(r), len(e))
        for t, r, e in seed.build(ctx, ctx.options["templates"])
    ]


def test_the_same_seed_builds_the_same_templates():
    assert summary(context()) == summary(context())


def test_the_demo_covers_every_state_category_tenant_featured_and_rating():
    built = list(seed.build(context(), 60))
    templates = [t for t, _, _ in built]
    assert {t.moderation_status for t in templates} == set(MODERATION_STATES)
    assert len({t.category for t in templates}) == 8 and len({t.tenant_id for t in templates}) == 3
    assert any(t.featured and t.is_listed for t in templates)
    assert all(t.is_listed == (t.moderation_status == "approved") for t in templates)
    assert all(t.submitted_at is not None for t in templates if t.moderation_status == "pending")
    assert all(t.rejection_reason for t in templates if t.moderation_status == "rejected")
    assert sum(len(r) for _, r, _ in built) > 0 and sum(len(e) for _, _, e in built) > 0
    for template, ratings, _ in built:
        assert template.rating_sum == sum(r.stars for r in ratings) and template.rating_count == len(ratings)


@pytest.fixture
def own_tables(dynamodb_local):
    real = settings.DYNAMODB_TABLE_PREFIX
    settings.DYNAMODB_TABLE_PREFIX = "mkseed"
    base.reconfigure()
    for model in (AgentTemplate, TemplateRating, SearchToken, AuditEvent):
        ensure_table(model)
    yield
    for model in (AgentTemplate, TemplateRating, SearchToken, AuditEvent):
        model.delete_table()  # leave the shared DynamoDB Local with only the suite's own tables
    settings.DYNAMODB_TABLE_PREFIX = real
    base.reconfigure()


def test_seeding_writes_templates_ratings_tokens_and_history(own_tables):
    ctx = context(30)
    seed.seed(ctx)
    listed = list(AgentTemplate.by_popularity.query("public", scan_index_forward=False))
    assert listed and all(t.moderation_status == "approved" for t in listed)
    assert [t.usage_count for t in listed] == sorted((t.usage_count for t in listed), reverse=True)
    assert list(AgentTemplate.moderation_queue.query("pending"))
    assert list(SearchToken.query("public#triage")) or list(SearchToken.query("public#support"))
