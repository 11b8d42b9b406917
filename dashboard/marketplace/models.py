"""Agent templates of the marketplace and their ratings."""

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from dashboard.dynamo.base import DynamoModel, table_meta

MODERATION_STATES = ("draft", "pending", "approved", "rejected", "unpublished")


class TemplatesByCategory(GlobalSecondaryIndex):
    class Meta:
        index_name = "category-created_at-index"
        projection = AllProjection()

    category = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class TemplatesByPopularity(GlobalSecondaryIndex):
    """Sparse: only approved public templates carry `listing`."""

    class Meta:
        index_name = "listing-usage_count-index"
        projection = AllProjection()

    listing = UnicodeAttribute(hash_key=True)
    usage_count = NumberAttribute(range_key=True)


class TemplatesByTenant(GlobalSecondaryIndex):
    class Meta:
        index_name = "tenant_id-updated_at-index"
        projection = AllProjection()

    tenant_id = UnicodeAttribute(hash_key=True)
    updated_at = UTCDateTimeAttribute(range_key=True)


class ModerationQueue(GlobalSecondaryIndex):
    """Sparse: `submitted_at` is set only while a template waits for a decision."""

    class Meta:
        index_name = "moderation_status-submitted_at-index"
        projection = AllProjection()

    moderation_status = UnicodeAttribute(hash_key=True)
    submitted_at = UTCDateTimeAttribute(range_key=True)


class AgentTemplate(DynamoModel):
    Meta = table_meta("agent-templates")
    template_id = UnicodeAttribute(hash_key=True)
    tenant_id = UnicodeAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    category = UnicodeAttribute()
    tags = UnicodeSetAttribute(null=True)
    visibility = UnicodeAttribute(default="private")  # private | public
    moderation_status = UnicodeAttribute(default="draft")
    submitted_at = UTCDateTimeAttribute(null=True)
    listing = UnicodeAttribute(null=True)
    featured = BooleanAttribute(default=False)
    rejection_reason = UnicodeAttribute(null=True)
    moderation_history = ListAttribute(null=True)  # [{"at", "by", "action", "reason"}]
    definition = JSONAttribute()  # {"nodes": [...], "edges": [...]}
    usage_count = NumberAttribute(default=0)
    rating_sum = NumberAttribute(default=0)
    rating_count = NumberAttribute(default=0)
    author_id = UnicodeAttribute()
    author_name = UnicodeAttribute(default="")
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()
    by_category = TemplatesByCategory()
    by_popularity = TemplatesByPopularity()
    by_tenant = TemplatesByTenant()
    moderation_queue = ModerationQueue()


class TemplateRating(DynamoModel):
    Meta = table_meta("template-ratings")
    template_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute(range_key=True)
    stars = NumberAttribute()
    rated_at = UTCDateTimeAttribute()
