"""The marketplace demo: every moderation story, its audit events and the ratings lie before now."""

import random
from types import SimpleNamespace

from dashboard.core import clock
from dashboard.core.seeding import SeedContext
from dashboard.marketplace import demo


def _context(seed: int, now) -> SeedContext:
    tenants = ["acme", "globex", "initech"]
    return SeedContext(
        rng=random.Random(seed),
        now=now,
        options={},
        quiet=True,
        tenants=[SimpleNamespace(tenant_id=tenant_id) for tenant_id in tenants],
        admins={t: [SimpleNamespace(user_id=f"usr_{t}", email=f"ada@{t}.test")] for t in tenants},
        moderators=[SimpleNamespace(user_id="usr_mod", email="moderator@diatonic.test")],
    )


def test_no_moderation_event_or_rating_of_the_demo_is_after_now():
    now = clock.now()
    later = []
    for template, ratings, events in (
        built for seed in range(20) for built in demo.build(_context(seed, now), 60)
    ):
        moments = [("updated_at", template.updated_at), ("submitted_at", template.submitted_at)]
        moments += [
            (f"history {entry.action}", clock.parse_iso(entry.at)) for entry in template.moderation_history
        ]
        moments += [(event.action, event.ts) for event in events]
        moments += [("rated_at", rating.rated_at) for rating in ratings]
        later += [(template.name, what, at - now) for what, at in moments if at is not None and at > now]
    assert later == []
