"""What `seed_demo` hands each area's `seed.py`: one random source, the clock, and the people."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tqdm import tqdm

DEMO_PASSWORD = "demo-password"


@dataclass
class SeedContext:
    rng: random.Random
    now: datetime
    options: dict[str, Any]
    quiet: bool = False
    tenants: list = field(default_factory=list)  # Tenant
    admins: dict[str, list] = field(default_factory=dict)  # tenant_id -> [User]
    staff: list = field(default_factory=list)
    moderators: list = field(default_factory=list)
    projects: dict[str, list] = field(default_factory=dict)  # tenant_id -> [Project]
    flows: dict[str, list] = field(default_factory=dict)  # tenant_id -> [Flow]
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # (role, tenant, email)

    def progress(self, iterable: Iterable, description: str, total: int | None = None, unit: str = "item"):
        return tqdm(
            iterable,
            desc=f"{description:<24}",
            total=total,
            unit=unit,
            disable=self.quiet,
            dynamic_ncols=True,
            leave=True,
        )

    def write(self, model_cls, items: Iterable) -> int:
        """Batch-write items (25 per request, unprocessed items retried by PynamoDB)."""
        written = 0
        with model_cls.batch_write() as batch:
            for item in items:
                batch.save(item)
                written += 1
        return written
