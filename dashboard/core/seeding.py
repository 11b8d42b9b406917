"""What `seed_demo` hands each area's `demo.py`: one random source, the clock, and the people."""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tqdm import tqdm

DEMO_PASSWORD = "demo-password"
WRITERS = 4  # threads writing one table's demo items
WRITE_CHUNK = 100  # items per thread task (4 BatchWriteItem calls): the bar's step


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
    # tenant_id -> [Flow] made from a marketplace template (their runs make the cards' cost figures)
    template_flows: dict[str, list] = field(default_factory=dict)
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # (role, tenant, email)

    def progress(
        self, iterable: Iterable | None, description: str, total: int | None = None, unit: str = "item"
    ):
        """A bar for one phase: what is written and how many (advance it as items are written)."""
        return tqdm(
            iterable,
            desc=f"{description:<24}",
            total=total,
            unit=unit,
            disable=self.quiet,
            dynamic_ncols=True,
            leave=True,
        )

    @contextmanager
    def step(self, description: str) -> Iterator[None]:
        """A phase without a count: said when it starts and when it is done, with its time."""
        started = time.monotonic()
        if not self.quiet:
            print(f"{description} …", file=sys.stderr, flush=True)
        yield
        if not self.quiet:
            print(f"{description}: done in {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)

    def write_all(self, model_cls, items: list, description: str | None = None, unit: str = "item") -> int:
        """Write the items from a few threads (`batch_put`: batches, or transactions on DynamoDB Local;
        retried), with a bar that advances as they land (not as they are queued)."""
        from dashboard.dynamo.transactions import batch_put

        bar = self.progress(None, description or model_cls.Meta.table_suffix, total=len(items), unit=unit)

        def put(chunk: list) -> int:
            batch_put(model_cls, chunk)
            return len(chunk)

        chunks = [items[start : start + WRITE_CHUNK] for start in range(0, len(items), WRITE_CHUNK)]
        with ThreadPoolExecutor(max_workers=WRITERS) as pool:
            for written in pool.map(put, chunks):
                bar.update(written)
        bar.close()
        return len(items)

    def write(self, model_cls, items: Iterable) -> int:
        """Batch-write items (25 per request, unprocessed items retried by PynamoDB)."""
        written = 0
        with model_cls.batch_write() as batch:
            for item in items:
                batch.save(item)
                written += 1
        return written
