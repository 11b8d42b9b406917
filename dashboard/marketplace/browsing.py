"""Reading the catalogue: browse with filters and sorts, keyword search, featured, the moderation queue.

Every list is a query on a key or GSI with a page-sized limit; nothing here scans a table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from operator import attrgetter
from typing import Any

from dashboard.accounts.scope import API, TENANT_ADMIN, AccessScope
from dashboard.accounts.services import list_tenants
from dashboard.core.errors import PermissionDenied, ValidationFailed
from dashboard.dynamo.paging import Page, paginate
from dashboard.marketplace.catalogue import CATEGORIES, MAX_PAGE_SIZE, PAGE_SIZE, SORTS, VISIBILITY_FILTERS
from dashboard.marketplace.feeds import Stream, merged_page
from dashboard.marketplace.models import PUBLIC_FEED, AgentTemplate, SearchToken, tenant_feed
from dashboard.marketplace.permissions import can_moderate
from dashboard.marketplace.search import query_words, template_tokens

FEATURED_SHOWN = 6
FEATURED_PEEK = 24
SEARCH_ROUNDS = 3  # refills a page whose hits were filtered out, within a fixed number of calls

# sort -> (GSI over a whole feed, GSI over one category of a feed, its range key)
SORT_INDEXES = {
    "popular": ("by_feed_usage", "by_feed_category_usage", "usage_count"),
    "rating": ("by_feed_rating", "by_feed_category_rating", "rating_avg"),
    "newest": ("by_feed_newest", "by_feed_category_newest", "created_at"),
}


@dataclass(frozen=True)
class BrowseFilters:
    category: str = ""
    visibility: str = "all"
    tenant: str = ""  # staff: whose private templates to include
    sort: str = "popular"
    q: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, Any], *, strict: bool = False) -> BrowseFilters:
        """Filters from a query string. Pages fall back to defaults; the API (`strict`) names the bad one."""
        values = {
            "category": (params.get("category") or "").strip(),
            "visibility": (params.get("visibility") or "all").strip(),
            "tenant": (params.get("tenant") or "").strip(),
            "sort": (params.get("sort") or "popular").strip(),
            "q": (params.get("q") or "").strip()[:100],
        }
        allowed = {"category": CATEGORIES, "visibility": VISIBILITY_FILTERS, "sort": SORTS}
        errors = {}
        for name, choices in allowed.items():
            if values[name] and values[name] not in choices:
                errors[name] = f"Use one of: {', '.join(choices)}."
                values[name] = cls.__dataclass_fields__[name].default
        if strict and errors:
            raise ValidationFailed("Unknown filter value.", errors)
        return cls(**values)

    def key(self) -> str:
        return f"{self.category}|{self.visibility}|{self.tenant}|{self.sort}|{self.q.lower()}"


def _private_tenants(scope: AccessScope, filters: BrowseFilters) -> list[str]:
    if scope.role in (TENANT_ADMIN, API):
        return [scope.tenant_id] if scope.tenant_id else []
    if scope.is_staff:
        if filters.tenant:
            return [filters.tenant]
        if scope.tenant_id:
            return [scope.tenant_id]
        return [tenant.tenant_id for tenant in list_tenants()]  # a handful: one query each
    return []  # moderators work on the public catalogue only


def feeds_for(scope: AccessScope, filters: BrowseFilters) -> list[str]:
    feeds = []
    if filters.visibility in ("all", "public"):
        feeds.append(PUBLIC_FEED)
    if filters.visibility in ("all", "private"):
        feeds += [tenant_feed(tenant_id) for tenant_id in _private_tenants(scope, filters)]
    return feeds


def _sort_stream(feed: str, filters: BrowseFilters) -> Stream:
    whole_feed, one_category, range_key = SORT_INDEXES[filters.sort]
    if filters.category:
        index, hash_name, hash_value = (
            getattr(AgentTemplate, one_category),
            "feed_category",
            f"{feed}#{filters.category}",
        )
    elif feed == PUBLIC_FEED and filters.sort == "popular":
        # The sparse popularity GSI: only approved public templates carry `listing`.
        index, hash_name, hash_value = AgentTemplate.by_popularity, "listing", PUBLIC_FEED
    else:
        index, hash_name, hash_value = getattr(AgentTemplate, whole_feed), "feed", feed
    return Stream(
        name=feed,
        query=partial(index.query, hash_value, scan_index_forward=False),
        key_names=("template_id", hash_name, range_key),
        sort_value=attrgetter(range_key),
    )


def _limit(limit: int | None) -> int:
    return max(1, min(int(limit or PAGE_SIZE), MAX_PAGE_SIZE))


def browse(
    scope: AccessScope, filters: BrowseFilters, cursor: str | None = None, limit: int | None = None
) -> Page[AgentTemplate]:
    """Public approved templates of every tenant plus the viewer's private ones, one merged page."""
    if filters.q:
        return search(scope, filters, cursor, limit)
    feeds = feeds_for(scope, filters)
    if not feeds:
        return Page(items=[], next_cursor=None)
    streams = [_sort_stream(feed, filters) for feed in feeds]
    return merged_page(streams, purpose=f"templates:{filters.key()}", limit=_limit(limit), cursor=cursor)


def search(
    scope: AccessScope, filters: BrowseFilters, cursor: str | None = None, limit: int | None = None
) -> Page[AgentTemplate]:
    """Templates whose name, description or tags hold every word of the query, newest first.

    One query per visible feed on the token index (the longest word drives it, as the rarest
    likely), one BatchGet of the templates, and the other words and the category checked on them.
    When that leaves the page short, up to SEARCH_ROUNDS rounds refill it, so a page costs at most
    SEARCH_ROUNDS × (feeds + 1) calls; it may then hold fewer matches than the limit.
    """
    words = query_words(filters.q)
    feeds = feeds_for(scope, filters)
    if not words or not feeds:
        return Page(items=[], next_cursor=None)
    driver = max(words, key=len)
    streams = [
        Stream(
            name=feed,
            query=partial(SearchToken.query, f"{feed}#{driver}", scan_index_forward=False),
            key_names=("token", "template_id"),
            sort_value=attrgetter("template_id"),
        )
        for feed in feeds
    ]
    wanted = set(words)
    matches: list[AgentTemplate] = []
    wanted_count = _limit(limit)
    for _round in range(SEARCH_ROUNDS):
        page = merged_page(
            streams, purpose=f"templates:{filters.key()}", limit=wanted_count - len(matches), cursor=cursor
        )
        ids = [hit.template_id for hit in page.items]
        found = {t.template_id: t for t in AgentTemplate.batch_get(ids)} if ids else {}
        for hit in page.items:
            template = found.get(hit.template_id)
            if template is None or template.feed != hit.token.rsplit("#", 1)[0]:
                continue  # deleted, or moved to another feed since the hit was read
            if filters.category and template.category != filters.category:
                continue
            if not wanted <= template_tokens(template.name, template.description, template.tags or ()):
                continue
            matches.append(template)
        cursor = page.next_cursor
        if len(matches) >= wanted_count or cursor is None:
            break
    return Page(items=matches, next_cursor=cursor)


def featured(scope: AccessScope, filters: BrowseFilters) -> list[AgentTemplate]:
    """Featured public templates for the top of the first browse page (one small query)."""
    if filters.visibility == "private" or filters.q:
        return []
    items = AgentTemplate.featured_index.query("featured", scan_index_forward=False, limit=FEATURED_PEEK)
    return [t for t in items if not filters.category or t.category == filters.category][:FEATURED_SHOWN]


def moderation_queue(
    scope: AccessScope, cursor: str | None = None, limit: int | None = None, *, status: str = "pending"
) -> Page[AgentTemplate]:
    """Templates waiting for review, oldest first, or rejected ones, latest submitted first (the sparse queue GSI)."""
    if not can_moderate(scope):
        raise PermissionDenied("Only moderators and staff see the moderation queue.")
    if status not in ("pending", "rejected"):
        raise ValidationFailed("Unknown moderation list.", {"status": "pending or rejected"})
    query = partial(AgentTemplate.moderation_queue.query, status, scan_index_forward=status == "pending")
    return paginate(query, purpose=f"templates:queue:{status}", limit=_limit(limit), cursor=cursor)


def listed(scope: AccessScope, cursor: str | None = None, limit: int | None = None) -> Page[AgentTemplate]:
    """The public catalogue for moderators, most used first."""
    if not can_moderate(scope):
        raise PermissionDenied("Only moderators and staff manage the public catalogue.")
    query = partial(AgentTemplate.by_popularity.query, PUBLIC_FEED, scan_index_forward=False)
    return paginate(query, purpose="templates:listed", limit=_limit(limit), cursor=cursor)


def tenant_templates(scope: AccessScope, limit: int = 5) -> list[AgentTemplate]:
    """The scope's tenant's templates, last changed first (one query): the home page's card."""
    tenant_id = scope.require_tenant()
    return list(AgentTemplate.by_tenant.query(tenant_id, scan_index_forward=False, limit=limit))
