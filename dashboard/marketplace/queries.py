"""Reading the marketplace: one template, browse with filters and sorts, keyword search, featured,
the moderation queue and the listed catalogue.

Every list is a query on a key or GSI with a page-sized limit; nothing here scans a table.
Keyword search reads the words `search.py` makes of the query.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from operator import attrgetter

from pynamodb.exceptions import DoesNotExist

from dashboard.accounts.queries import list_tenants
from dashboard.core.errors import NotFound, PermissionDenied, ValidationFailed
from dashboard.core.scope import API, TENANT_ADMIN, AccessScope, Can
from dashboard.core.secrets import Setting, settings_rows
from dashboard.dynamo.paging import Page, Stream, merged_page, paginate
from dashboard.flows import queries as flows
from dashboard.marketplace.inputs import MAX_PAGE_SIZE, PAGE_SIZE, TEMPLATE_ID, BrowseFilters
from dashboard.marketplace.models import PUBLIC_FEED, AgentTemplate, SearchToken, TemplateRating, tenant_feed
from dashboard.marketplace.moderation import can_edit, can_moderate, can_view
from dashboard.marketplace.search import query_words, template_tokens

# --- one template ------------------------------------------------------------------------------


def get_template(scope: AccessScope, template_id: str, *, consistent: bool = False) -> AgentTemplate:
    """The template, or NotFound when it does not exist or the scope may not see it (ids do not leak)."""
    if not TEMPLATE_ID.match(template_id or ""):
        raise NotFound("That template was not found.")
    try:
        template = AgentTemplate.get(template_id, consistent_read=consistent)
    except DoesNotExist:
        raise NotFound("That template was not found.") from None
    if not can_view(scope, template):
        raise NotFound("That template was not found.")
    return template


NAME_ATTRIBUTES = ["template_id", "name", "tenant_id", "moderation_status", "listing"]


def template_names(scope: AccessScope, template_ids: list[str]) -> dict[str, str]:
    """The names of the templates the scope may see among `template_ids` (a cost page's top list):
    one BatchGetItem of a few attributes per 100 ids; one it may not see, or gone, is left out."""
    ids = sorted({template_id for template_id in template_ids if TEMPLATE_ID.match(template_id or "")})
    if not ids:
        return {}
    found = AgentTemplate.batch_get(ids, attributes_to_get=NAME_ATTRIBUTES)
    return {template.template_id: template.name for template in found if can_view(scope, template)}


def get_editable(scope: AccessScope, template_id: str) -> AgentTemplate:
    template = get_template(scope, template_id, consistent=True)
    if not can_edit(scope, template):
        raise PermissionDenied("Only the template's own tenant can change it.")
    return template


def my_rating(scope: AccessScope, template_id: str) -> int | None:
    try:
        return int(TemplateRating.get(template_id, scope.actor_id).stars)
    except DoesNotExist:
        return None


def projects_for_use(scope: AccessScope) -> list:
    """The projects of the scope's tenant a template can be instantiated in (newest first)."""
    if not scope.can(Can.TENANT_DATA) or scope.tenant_id is None:
        return []
    return flows.list_projects(scope, limit=50).items


# --- review ------------------------------------------------------------------------------------


@dataclass
class NodeReview:
    id: str
    label: str
    type: str
    settings: list[Setting]

    @property
    def secrets(self) -> int:
        return sum(1 for setting in self.settings if setting.secret)


def node_settings(definition: dict) -> list[NodeReview]:
    """Each node's settings (prompts, URLs, parameters) as rows, stored secrets masked. No I/O."""
    return [
        NodeReview(
            node["id"],
            node.get("label") or node["type"],
            node["type"],
            settings_rows(node.get("config") or {}),
        )
        for node in definition.get("nodes", [])
    ]


@dataclass
class Change:
    what: str  # "name", "node n2 (Answer)", "edge n1 → n3"
    before: str = ""
    after: str = ""


def _shown(settings: list[Setting]) -> dict[str, str]:
    return {setting.path: setting.value for setting in settings if not setting.group}


def changes_since_approved(template: AgentTemplate) -> list[Change] | None:
    """What a resubmitted template changed since the version a moderator last approved (secrets masked).

    None when there is nothing to compare with (never approved, or approved before snapshots were kept,
    or unchanged since). No I/O: the snapshot is stored on the template.
    """
    snapshot = template.approved_snapshot
    if not snapshot or int(snapshot.get("version", 0)) == int(template.version):
        return None
    changes: list[Change] = []
    for field in ("name", "description", "category"):
        before, after = snapshot.get(field) or "", getattr(template, field) or ""
        if before != after:
            changes.append(Change(field, before, after))
    before_tags, after_tags = set(snapshot.get("tags") or ()), set(template.tags or ())
    if before_tags != after_tags:
        changes.append(Change("tags", ", ".join(sorted(before_tags)), ", ".join(sorted(after_tags))))
    old = {node.id: node for node in node_settings(snapshot.get("definition") or {})}
    new = {node.id: node for node in node_settings(template.definition or {})}
    for node_id, node in new.items():
        name = f"node {node_id} ({node.label})"
        if node_id not in old:
            changes.append(Change(name, "", f"added: {node.type}"))
            continue
        was = old[node_id]
        if (was.label, was.type) != (node.label, node.type):
            changes.append(Change(name, f"{was.label} · {was.type}", f"{node.label} · {node.type}"))
        before, after = _shown(was.settings), _shown(node.settings)
        for path in dict.fromkeys([*before, *after]):
            if before.get(path) != after.get(path):
                changes.append(Change(f"{name} · {path}", before.get(path, ""), after.get(path, "")))
    for node_id, node in old.items():
        if node_id not in new:
            changes.append(Change(f"node {node_id} ({node.label})", f"{node.type}", "removed"))

    def edges(definition: dict) -> set[tuple[str, str]]:
        return {(edge["source"], edge["target"]) for edge in definition.get("edges", [])}

    old_edges, new_edges = edges(snapshot.get("definition") or {}), edges(template.definition or {})
    for source, target in sorted(new_edges - old_edges):
        changes.append(Change(f"edge {source} → {target}", "", "added"))
    for source, target in sorted(old_edges - new_edges):
        changes.append(Change(f"edge {source} → {target}", "", "removed"))
    return changes


# --- lists -------------------------------------------------------------------------------------

FEATURED_SHOWN = 6
FEATURED_PEEK = 24
SEARCH_ROUNDS = 3  # refills a page whose hits were filtered out, within a fixed number of calls

# sort -> (GSI over a whole feed, GSI over one category of a feed, its range key)
SORT_INDEXES = {
    "popular": ("by_feed_usage", "by_feed_category_usage", "usage_count"),
    "rating": ("by_feed_rating", "by_feed_category_rating", "rating_avg"),
    "newest": ("by_feed_newest", "by_feed_category_newest", "created_at"),
}


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
    return merged_page(
        streams, purpose=f"templates:{filters.cursor_salt()}", limit=_limit(limit), cursor=cursor
    )


def search(
    scope: AccessScope, filters: BrowseFilters, cursor: str | None = None, limit: int | None = None
) -> Page[AgentTemplate]:
    """Templates whose name, description or tags hold every word of the query, newest first.

    A query word matches a whole word or the start of one ("refu" finds "Refund"), in British or
    American spelling ("summarise" finds "Summarizer"): both are indexed as tokens.

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
            streams,
            purpose=f"templates:{filters.cursor_salt()}",
            limit=wanted_count - len(matches),
            cursor=cursor,
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


PENDING_CAP = 50  # the navigation shows "50+" beyond this


def pending_count(scope: AccessScope) -> int:
    """Templates waiting for review, counted up to PENDING_CAP + 1 for the navigation badge.

    DynamoDB cost: one Query with Select=COUNT on the sparse queue GSI, limited to PENDING_CAP + 1
    items. COUNT returns no items but is billed for what it reads: with the index projecting whole
    templates (a few kB each) that is at most 51 items × ~4 kB / 4 kB × 0.5 = ~26 read units, and a
    single read unit while the queue is short, whatever the size of the catalogue.
    """
    if not can_moderate(scope):
        return 0
    return AgentTemplate.moderation_queue.count("pending", limit=PENDING_CAP + 1)


def next_pending(scope: AccessScope, after: str) -> AgentTemplate | None:
    """The oldest template still waiting for review, other than `after` (just decided).

    One Query of 3 items on the queue GSI: it is eventually consistent, so the one just decided
    may still show there for a moment and is skipped.
    """
    if not can_moderate(scope):
        return None
    for template in AgentTemplate.moderation_queue.query("pending", limit=3):
        if template.template_id != after:
            return template
    return None


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


# --- what the writes read (consistent, by key) ------------------------------------------------


def find_template(template_id: str) -> AgentTemplate | None:
    """A template by id, whoever asks, read consistently (a write's own check): one GetItem."""
    try:
        return AgentTemplate.get(template_id, consistent_read=True)
    except DoesNotExist:
        return None


def rating_by(template_id: str, actor_id: str) -> TemplateRating | None:
    """One person's rating of a template, read consistently: one GetItem."""
    try:
        return TemplateRating.get(template_id, actor_id, consistent_read=True)
    except DoesNotExist:
        return None


def ratings_of(template_id: str) -> list[TemplateRating]:
    """Every rating of a template (its partition): one query a page."""
    return list(TemplateRating.query(template_id))


def template_ids_of_tenant(tenant_id: str) -> set[str]:
    """Every template a tenant wrote, whatever its state (the tenant GSI, a query a page): what a
    tenant's erase finds its templates' platform-wide figures by."""
    return {template.template_id for template in AgentTemplate.by_tenant.query(tenant_id)}


def published_template_ids() -> list[str]:
    """The templates other tenants or moderators can read: listed, waiting for review, rejected (the
    popularity and queue GSIs: three keyed queries)."""
    ids = [t.template_id for t in AgentTemplate.by_popularity.query(PUBLIC_FEED)]
    for status in ("pending", "rejected"):
        ids += [t.template_id for t in AgentTemplate.moderation_queue.query(status)]
    return list(dict.fromkeys(ids))
