"""Demo marketplace: templates of every tenant in every moderation state, with ratings and history.

Deterministic: everything random comes from ctx.rng, ids from counters and the seeded clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from ulid import ULID

from dashboard.audit.models import AuditEvent
from dashboard.core.scope import TENANT_ADMIN, AccessScope
from dashboard.core.seeding import SeedContext
from dashboard.flows.demo import flow_definition
from dashboard.flows.models import Flow, FlowEdge, FlowNode, FlowSnapshot
from dashboard.flows.services import flow_items
from dashboard.marketplace.inputs import CATEGORIES
from dashboard.marketplace.models import AgentTemplate, ModerationEntry, SearchToken, TemplateRating
from dashboard.marketplace.services import derived_keys, search_token, token_keys

SHAPES = {
    "customer-support": [
        (
            "Support triage",
            ["prompt", "llm", "condition", "tool", "output"],
            ["triage", "tickets", "support"],
        ),
        ("Refund assistant", ["prompt", "retriever", "llm", "condition", "output"], ["refunds", "support"]),
    ],
    "sales": [
        ("Lead enrichment", ["http_request", "code", "llm", "output"], ["crm", "leads"]),
        ("Cold email writer", ["prompt", "retriever", "llm", "output"], ["email", "outreach"]),
    ],
    "research": [
        ("Paper summariser", ["retriever", "llm", "llm", "output"], ["papers", "summaries"]),
        ("Competitor watch", ["http_request", "code", "llm", "condition", "output"], ["news", "market"]),
    ],
    "data-extraction": [
        ("Invoice extractor", ["code", "llm", "condition", "output"], ["invoices", "ocr"]),
        ("Contract clause finder", ["retriever", "llm", "code", "output"], ["legal", "contracts"]),
    ],
    "operations": [
        ("Incident summary", ["http_request", "llm", "tool", "output"], ["incidents", "on-call"]),
        ("Meeting notes", ["prompt", "llm", "output"], ["meetings", "notes"]),
    ],
    "engineering": [
        ("Code review helper", ["http_request", "code", "llm", "output"], ["code-review", "github"]),
        (
            "Log anomaly explainer",
            ["retriever", "code", "llm", "condition", "output"],
            ["logs", "observability"],
        ),
    ],
    "marketing": [
        ("Campaign copywriter", ["prompt", "llm", "condition", "llm", "output"], ["copy", "campaigns"]),
        ("SEO brief builder", ["http_request", "retriever", "llm", "output"], ["seo", "content"]),
    ],
    "finance": [
        ("Expense checker", ["retriever", "code", "condition", "llm", "output"], ["expenses", "audit"]),
        ("Forecast narrator", ["code", "llm", "output"], ["forecasts", "reporting"]),
    ],
}
DESCRIPTIONS = [
    "A ready-made {name} flow: {steps}. Tune the prompts to your own voice before going live.",
    "Starts from {first} and ends in {last}; {count} steps that handle the common case well.",
    "Battle-tested {name} agent used by our {category} team. Steps: {steps}.",
]
# The share of templates in each moderation state, in the order they are handed out.
# 9 approved, 4 pending, 3 draft, 2 rejected, 2 unpublished, interleaved so that every tenant gets a mix
# even from a small --templates count.
STATES = [
    "approved",
    "pending",
    "approved",
    "draft",
    "approved",
    "rejected",
    "approved",
    "pending",
    "unpublished",
    "approved",
    "draft",
    "pending",
    "approved",
    "rejected",
    "approved",
    "pending",
    "draft",
    "approved",
    "unpublished",
    "approved",
]
REJECTION_REASONS = [
    "The description does not say what the flow needs as input.",
    "Contains a hard-coded API key in a node label.",
    "Duplicates an existing featured template; please improve or merge it.",
]


def definition_for(node_types: list[str]) -> dict:
    """A studio flow's chain of nodes, plus a "no" branch from a condition that skips to the output."""
    definition = flow_definition(node_types)
    nodes, edges = definition["nodes"], definition["edges"]
    if "condition" in node_types:
        branch = node_types.index("condition")
        if branch + 2 < len(nodes):
            edges.append(
                {
                    "id": f"e{len(edges) + 1}",
                    "source": nodes[branch]["id"],
                    "target": nodes[-1]["id"],
                    "label": "no",
                }
            )
    return definition


def template_id_at(ctx: SeedContext, moment: datetime) -> str:
    """A time-ordered id like the app's, but from the seeded clock and random source."""
    millis = int(moment.timestamp() * 1000)
    return f"tpl_{str(ULID(millis.to_bytes(6, 'big') + ctx.rng.randbytes(10))).lower()}"


# The longest moderation story: submitted 1 h after creation, decided within 72 h, unpublished 3 days on.
MODERATED_STORY = timedelta(days=7)
RECENT = timedelta(hours=1)


def _history_entry(at: datetime, by: str, action: str, reason: str = "") -> ModerationEntry:
    return ModerationEntry(at=at.isoformat(), by=by, action=action, reason=reason)


def build(
    ctx: SeedContext, count: int
) -> Iterator[tuple[AgentTemplate, list[TemplateRating], list[AuditEvent]]]:
    """Templates with their ratings and moderation audit events, generated without writing."""
    tenants = [tenant.tenant_id for tenant in ctx.tenants]
    moderator = ctx.moderators[0].email if ctx.moderators else "moderator@diatonic.test"
    raters = [user for users in ctx.admins.values() for user in users]
    categories = list(CATEGORIES)
    for number in range(count):
        tenant_id = tenants[number % len(tenants)]
        author = ctx.admins[tenant_id][number % len(ctx.admins[tenant_id])]
        category = categories[(number // len(tenants)) % len(categories)]
        base_name, shape, tags = SHAPES[category][ctx.rng.randrange(len(SHAPES[category]))]
        state = STATES[number % len(STATES)]
        created = ctx.now - timedelta(days=ctx.rng.randrange(2, 120), minutes=ctx.rng.randrange(1440))
        if state not in ("draft", "pending"):
            # Submitted, decided (up to 3 days later), then maybe featured or unpublished (3 more
            # days): the whole story, and its audit events, lie before now.
            created = min(created, ctx.now - MODERATED_STORY - timedelta(minutes=ctx.rng.randrange(1440)))
        name = base_name if number < len(tenants) * len(categories) else f"{base_name} v{number // 24 + 1}"
        description = ctx.rng.choice(DESCRIPTIONS).format(
            name=base_name.lower(),
            steps=" → ".join(shape),
            first=shape[0],
            last=shape[-1],
            count=len(shape),
            category=CATEGORIES[category].lower(),
        )
        template = AgentTemplate(
            template_id=template_id_at(ctx, created),
            tenant_id=tenant_id,
            name=name,
            description=description,
            category=category,
            tags=set(tags[: 1 + ctx.rng.randrange(len(tags))]) | ({"starter"} if number % 5 == 0 else set()),
            visibility="private" if state == "draft" else "public",
            moderation_status=state,
            definition=definition_for(shape),
            author_id=author.user_id,
            author_name=author.email,
            created_at=created,
            updated_at=created + timedelta(hours=ctx.rng.randrange(1, 48)),
            usage_count=0,
            rating_sum=0,
            rating_count=0,
            rating_avg=0,
            version=1 + ctx.rng.randrange(4),
        )
        history = [_history_entry(created, author.email, "created")]
        events: list[AuditEvent] = []
        if state != "draft":
            submitted = created + timedelta(hours=1)
            history.append(_history_entry(submitted, author.email, "submitted"))
            decided = submitted + timedelta(hours=ctx.rng.randrange(2, 72))
            if state == "pending":
                template.submitted_at = min(submitted + timedelta(days=ctx.rng.randrange(0, 10)), ctx.now)
            elif state == "rejected":
                template.submitted_at = submitted  # lists it under Rejected
                reason = ctx.rng.choice(REJECTION_REASONS)
                template.rejection_reason = reason
                history.append(_history_entry(decided, moderator, "reject", reason))
            else:
                history.append(_history_entry(decided, moderator, "approve"))
                if state == "unpublished":
                    history.append(_history_entry(decided + timedelta(days=3), moderator, "unpublish"))
                elif number % 6 == 0:
                    template.featured = True
                    history.append(_history_entry(decided + timedelta(days=1), moderator, "feature"))
            for entry_number, entry in enumerate(history[2:]):
                at = datetime.fromisoformat(entry.at)
                event_id = f"evt_seed_tpl_{number:05d}_{entry_number}"
                events.append(
                    AuditEvent(
                        tenant_id=tenant_id,
                        sk=f"{entry.at}#{event_id}",
                        event_id=event_id,
                        ts=at,
                        month=at.strftime("%Y-%m"),
                        actor_id=ctx.moderators[0].user_id if ctx.moderators else "usr_moderator",
                        actor_label=moderator,
                        action=f"template.{entry.action}",
                        target_type="template",
                        target_id=template.template_id,
                        changes={"name": name, "reason": entry.reason} if entry.reason else {"name": name},
                    )
                )
        template.moderation_history = history
        ratings = []
        if state in ("approved", "unpublished"):
            template.usage_count = min(5000, int(ctx.rng.paretovariate(1.1) * 6))  # a few very popular
            for rater in ctx.rng.sample(raters, ctx.rng.randrange(0, len(raters) + 1)):
                stars = max(1, min(5, round(ctx.rng.gauss(3.9, 1.0))))
                ratings.append(
                    TemplateRating(
                        template_id=template.template_id,
                        user_id=rater.user_id,
                        stars=stars,
                        rated_at=min(created + timedelta(days=ctx.rng.randrange(1, 30)), ctx.now - RECENT),
                    )
                )
        elif state in ("draft", "pending", "rejected"):
            template.usage_count = ctx.rng.randrange(0, 6)
        template.rating_sum = sum(int(r.stars) for r in ratings)
        template.rating_count = len(ratings)
        template.rating_avg = round(template.rating_sum / len(ratings), 4) if ratings else 0
        for attribute, value in derived_keys(template).items():
            setattr(template, attribute, value)
        yield template, ratings, events


def seed(ctx: SeedContext) -> None:
    count = int(ctx.options.get("templates") or 60)
    templates, tokens, ratings, events = [], [], [], []
    for template, template_ratings, template_events in build(ctx, count):
        templates.append(template)
        tokens += [search_token(template, token) for token in sorted(token_keys(template))]
        ratings += template_ratings
        events += template_events
    for model, items in (
        (AgentTemplate, templates),
        (TemplateRating, ratings),
        (SearchToken, tokens),
        (AuditEvent, events),
    ):
        ctx.write_all(model, items)
    seed_template_flows(ctx, templates)


TEMPLATES_IN_USE = 4  # the most used listed templates, each with a flow in every demo tenant


def seed_template_flows(ctx: SeedContext, templates: list[AgentTemplate]) -> None:
    """Flows made from the most used listed templates in every demo tenant (their first project), so
    analytics' demo runs name them and the cards show what those templates cost (issue #28 §3). Chosen
    without ctx.rng: the random stream of the areas after this one stays as it was."""
    listed = sorted((t for t in templates if t.is_listed), key=lambda t: (-t.usage_count, t.template_id))
    chosen = listed[:TEMPLATES_IN_USE]
    flows, nodes, edges, snapshots = [], [], [], []
    for tenant in ctx.tenants:
        tenant_id = tenant.tenant_id
        projects = ctx.projects.get(tenant_id) or []
        if not projects or not ctx.admins.get(tenant_id):
            continue
        author = ctx.admins[tenant_id][0]
        scope = AccessScope(
            role=TENANT_ADMIN, actor_id=author.user_id, actor_label=author.email, tenant_id=tenant_id
        )
        for number, template in enumerate(chosen):
            items = flow_items(
                scope,
                projects[0],
                template.name,
                template.definition,
                f"Made from the template {template.name}",
                source_template_id=template.template_id,
                source_template_version=template.version,
                flow_id=f"flw_{tenant_id}_tpl_{number + 1}",
                at=ctx.now - timedelta(days=40),
            )
            flows.append(items.flow)
            nodes += items.nodes
            edges += items.edges
            snapshots.append(items.snapshot)
            ctx.template_flows.setdefault(tenant_id, []).append(items.flow)
    for model, items in ((Flow, flows), (FlowNode, nodes), (FlowEdge, edges), (FlowSnapshot, snapshots)):
        ctx.write_all(model, items)
