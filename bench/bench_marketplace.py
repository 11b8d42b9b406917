"""Marketplace at 20,000 templates: browse (popular), search and detail, by DynamoDB calls and latency.

Seeds directly with batch writes from a few threads (templates, their search tokens and ratings),
then measures the pages. Every figure should stay flat as the catalogue grows: each page is a
fixed number of key/GSI queries (one per browsed feed), never a scan.
"""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import islice

from dashboard.accounts import demo as account_seed
from dashboard.core import clock
from dashboard.core.seeding import SeedContext
from dashboard.marketplace import demo as marketplace_seed
from dashboard.marketplace.models import AgentTemplate, SearchToken, TemplateRating
from dashboard.marketplace.services import search_token, token_keys

TEMPLATES = 20_000
CHUNK = 500
THREADS = 4


def _write(model, items) -> int:
    with model.batch_write() as batch:
        for item in items:
            batch.save(item)
    return len(items)


def _chunks(items, size):
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def seed_templates(ctx: SeedContext, count: int) -> list[AgentTemplate]:
    templates, tokens, ratings = [], [], []
    for template, template_ratings, _events in marketplace_seed.build(ctx, count):
        templates.append(template)
        tokens += [search_token(template, token) for token in token_keys(template)]
        ratings += template_ratings
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        jobs = [
            pool.submit(_write, model, chunk)
            for model, items in ((AgentTemplate, templates), (SearchToken, tokens), (TemplateRating, ratings))
            for chunk in _chunks(items, CHUNK)
        ]
        written = sum(job.result() for job in jobs)
    print(
        f"seeded {len(templates):,} templates, {len(tokens):,} search tokens, {len(ratings):,} ratings "
        f"({written:,} items) in {time.monotonic() - started:.0f} s",
        flush=True,
    )
    return templates


def run(bench) -> None:
    ctx = SeedContext(rng=random.Random(7), now=clock.now(), options={}, quiet=True)
    account_seed.seed(ctx)
    templates = seed_templates(ctx, TEMPLATES)
    admin = bench.client_for(ctx.admins["acme"][0])
    staff = bench.client_for(ctx.staff[0])
    moderator = bench.client_for(ctx.moderators[0])
    popular = max((t for t in templates if t.is_listed), key=lambda t: t.usage_count)

    bench.measure("browse · popular (public + own private)", admin, "/templates/?sort=popular")
    bench.measure("browse · popular, public only", admin, "/templates/?sort=popular&visibility=public")
    bench.measure("browse · top rated in one category", admin, "/templates/?sort=rating&category=finance")
    bench.measure("browse · newest, htmx partial", admin, "/templates/?sort=newest", HTTP_HX_REQUEST="true")
    first = admin.get("/templates/?sort=popular", HTTP_HX_REQUEST="true").content.decode()
    cursor_link = first.split('class="btn btn-ghost" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    bench.measure("browse · popular, next page (cursor)", admin, "/templates/" + cursor_link)
    bench.measure("browse · staff, every tenant", staff, "/templates/?sort=popular")
    bench.measure("search · one common word", admin, "/templates/?q=triage")
    bench.measure("search · two words", admin, "/templates/?q=invoice+extractor")
    bench.measure("search · word in one category", admin, "/templates/?q=starter&category=sales")
    bench.measure("detail · most used template", admin, f"/templates/{popular.template_id}/")
    bench.measure("moderation queue · oldest first", moderator, "/templates/moderation/")
