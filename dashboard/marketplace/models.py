"""Agent templates of the marketplace, their ratings and the keyword index that makes search a query."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from dashboard.dynamo.base import DynamoModel, table_meta

# `feed` is the partition a template is browsed in: "public" once approved and public (the same
# templates that carry `listing`), otherwise "tenant#<id>" (private to its tenant). Each browse sort has
# a GSI on `feed` and one on `feed_category` (`<feed>#<category>`), so every filter combination is a
# key-condition query and never a filtered scan.
PUBLIC_FEED = "public"


def tenant_feed(tenant_id: str) -> str:
    return f"tenant#{tenant_id}"


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
    """Sparse: `submitted_at` is set while a template waits for a decision, and kept when it is
    rejected, so the index lists both the review queue and the rejected templates."""

    class Meta:
        index_name = "moderation_status-submitted_at-index"
        projection = AllProjection()

    moderation_status = UnicodeAttribute(hash_key=True)
    submitted_at = UTCDateTimeAttribute(range_key=True)


class FeedByUsage(GlobalSecondaryIndex):
    class Meta:
        index_name = "feed-usage_count-index"
        projection = AllProjection()

    feed = UnicodeAttribute(hash_key=True)
    usage_count = NumberAttribute(range_key=True)


class FeedByRating(GlobalSecondaryIndex):
    class Meta:
        index_name = "feed-rating_avg-index"
        projection = AllProjection()

    feed = UnicodeAttribute(hash_key=True)
    rating_avg = NumberAttribute(range_key=True)


class FeedByNewest(GlobalSecondaryIndex):
    class Meta:
        index_name = "feed-created_at-index"
        projection = AllProjection()

    feed = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class FeedCategoryByUsage(GlobalSecondaryIndex):
    class Meta:
        index_name = "feed_category-usage_count-index"
        projection = AllProjection()

    feed_category = UnicodeAttribute(hash_key=True)
    usage_count = NumberAttribute(range_key=True)


class FeedCategoryByRating(GlobalSecondaryIndex):
    class Meta:
        index_name = "feed_category-rating_avg-index"
        projection = AllProjection()

    feed_category = UnicodeAttribute(hash_key=True)
    rating_avg = NumberAttribute(range_key=True)


class FeedCategoryByNewest(GlobalSecondaryIndex):
    class Meta:
        index_name = "feed_category-created_at-index"
        projection = AllProjection()

    feed_category = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class FeaturedTemplates(GlobalSecondaryIndex):
    """Sparse: `featured_listing` is set only on featured templates that are publicly listed."""

    class Meta:
        index_name = "featured_listing-usage_count-index"
        projection = AllProjection()

    featured_listing = UnicodeAttribute(hash_key=True)
    usage_count = NumberAttribute(range_key=True)


def public_name(label: str | None) -> str:
    """A person as every tenant may see them: a name, never an email (templates stored before
    names were recorded carry emails; those show the part before the @)."""
    if not label:
        return ""
    return label.split("@", 1)[0] if "@" in label else label


class ModerationEntry(MapAttribute):
    """One step of a template's moderation history (the same maps as stored before it was typed)."""

    at = UnicodeAttribute()  # ISO-8601, as first stored; a UTCDateTimeAttribute would not read those
    by = UnicodeAttribute(default="")
    action = UnicodeAttribute()
    reason = UnicodeAttribute(default="")

    def to_dict(self) -> dict[str, str]:
        return {"at": self.at, "by": public_name(self.by), "action": self.action, "reason": self.reason or ""}


class AgentTemplate(DynamoModel):
    Meta = table_meta("agent-templates")
    template_id = UnicodeAttribute(hash_key=True)
    tenant_id = UnicodeAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    category = UnicodeAttribute()
    tags = UnicodeSetAttribute(null=True)
    visibility = UnicodeAttribute(default="private")  # private | public (the author asks for listing)
    moderation_status = UnicodeAttribute(default="draft")
    submitted_at = UTCDateTimeAttribute(null=True)
    listing = UnicodeAttribute(null=True)
    featured = BooleanAttribute(default=False)
    rejection_reason = UnicodeAttribute(null=True)
    moderation_history = ListAttribute(of=ModerationEntry, null=True)
    definition = JSONAttribute()  # {"nodes": [...], "edges": [...]}
    # What the moderator approved last (name, description, category, tags, definition, version), so a
    # resubmission is reviewed as the changes since then.
    approved_snapshot = JSONAttribute(null=True)
    # The secrets left out of the definition's node settings: [{"node_id", "path", "lines"}], supplied on use.
    inputs = JSONAttribute(null=True)
    # Node settings that break their node type's JSON Schema when saved: [{"node_id", "node", "path",
    # "message"}], shown to the author and, in the queue, to the moderator.
    setting_problems = JSONAttribute(null=True)
    usage_count = NumberAttribute(default=0)
    rating_sum = NumberAttribute(default=0)
    rating_count = NumberAttribute(default=0)
    rating_avg = NumberAttribute(default=0)  # sort key only; the page shows rating_sum / rating_count
    feed = UnicodeAttribute(null=True)
    feed_category = UnicodeAttribute(null=True)
    featured_listing = UnicodeAttribute(null=True)
    author_id = UnicodeAttribute()
    author_name = UnicodeAttribute(default="")
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    # The edit version: edits and moderation decisions land only on the version they were made from
    # (an explicit condition, checked by the services) and raise it by one. It is a plain number, not a
    # VersionAttribute, so counter updates (uses, ratings) change neither it nor anyone's open edit.
    version = NumberAttribute(default=1)
    by_popularity = TemplatesByPopularity()
    by_tenant = TemplatesByTenant()
    moderation_queue = ModerationQueue()
    by_feed_usage = FeedByUsage()
    by_feed_rating = FeedByRating()
    by_feed_newest = FeedByNewest()
    by_feed_category_usage = FeedCategoryByUsage()
    by_feed_category_rating = FeedCategoryByRating()
    by_feed_category_newest = FeedCategoryByNewest()
    featured_index = FeaturedTemplates()

    @property
    def is_listed(self) -> bool:
        return self.listing is not None

    @property
    def average_rating(self) -> float | None:
        return round(self.rating_sum / self.rating_count, 2) if self.rating_count else None

    @property
    def last_decision(self) -> ModerationEntry | None:
        """The latest moderation history entry (who did what, when, and why)."""
        history = self.moderation_history or []
        return history[-1] if history else None

    @property
    def tag_list(self) -> list[str]:
        return sorted(self.tags or ())

    def to_dict(self, *, full: bool = True) -> dict[str, Any]:
        """The template's JSON shape in the API (`full` adds the definition and moderation details)."""
        data: dict[str, Any] = {
            "id": self.template_id,
            "tenant_id": self.tenant_id,
            "name": self.name,
            "description": self.description,
            "category": self.category,
            "tags": self.tag_list,
            "visibility": self.visibility,
            "moderation_status": self.moderation_status,
            "listed": self.is_listed,
            "featured": bool(self.featured),
            "usage_count": int(self.usage_count or 0),
            "rating": {"average": self.average_rating, "count": int(self.rating_count or 0)},
            "author": public_name(self.author_name),
            "version": int(self.version or 0),
            "inputs": [
                {**item, "field": f"input__{item['node_id']}__{item['path']}"} for item in self.inputs or []
            ],
            "setting_problems": list(self.setting_problems or []),
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
        }
        if full:
            data["definition"] = self.definition
            data["rejection_reason"] = self.rejection_reason
            data["submitted_at"] = _iso(self.submitted_at)
            data["moderation_history"] = [entry.to_dict() for entry in self.moderation_history or []]
        return data


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


class TemplateRating(DynamoModel):
    Meta = table_meta("template-ratings")
    template_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute(range_key=True)
    stars = NumberAttribute()
    rated_at = UTCDateTimeAttribute()


class SearchToken(DynamoModel):
    """One keyword of one template, in the feed the template is browsed in.

    `token` is `<feed>#<word>`, so a search is a query on the viewer's feeds; newer templates come
    first because template ids are time-ordered ULIDs. The template's services keep these in step
    with the template inside the same transaction.
    """

    Meta = table_meta("template-search-tokens")
    token = UnicodeAttribute(hash_key=True)
    template_id = UnicodeAttribute(range_key=True)
    tenant_id = UnicodeAttribute()
    listing = UnicodeAttribute(null=True)
