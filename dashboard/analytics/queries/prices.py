"""Staff prices as the pages read them: every price, what changed since, which models have none."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from dashboard.analytics import pricing
from dashboard.analytics.models import (
    ModelPrice,
    PriceChange,
)
from dashboard.analytics.queries.rollup_reads import daily
from dashboard.analytics.rollups import Totals
from dashboard.core import clock


def all_staff_prices() -> list[ModelPrice]:
    """Every staff price of every tenant, retired ones included: one query of their one partition,
    strongly consistent (a price just saved prices the next call); past 1 MB it pages."""
    return list(ModelPrice.query(ModelPrice.BOOK, consistent_read=True))


def prices_changed_since(tenant_id: str | None) -> str | None:
    """The earliest day whose figures predate a staff price change that applies to this tenant (or,
    for all tenants, to any), None when every figure is at today's prices. One BatchGetItem of the
    `pending` markers (`PriceChange`): the one for every tenant and the tenant's."""
    scopes = [pricing.EVERY_TENANT, *([tenant_id] if tenant_id else [])]
    if tenant_id is None:  # staff over every tenant: any tenant's pending change counts
        markers = PriceChange.query(PriceChange.BOOK, PriceChange.item.startswith("pending#"))
    else:
        markers = PriceChange.batch_get([PriceChange.pending_key(scope) for scope in scopes])
    return min((marker.since for marker in markers if marker.since), default=None)


def price_change_keys(tenant_id: str) -> dict[str, list[dict]]:
    """The raw keys `prices_changed_since(tenant_id)` reads, for a batch read shared with other
    tables (`TopPages.load(also=…)`); `changed_since_of` reads the answer."""
    return {
        PriceChange.Meta.table_name: [
            {"book": {"S": book}, "item": {"S": item}}
            for book, item in (PriceChange.pending_key(scope) for scope in (pricing.EVERY_TENANT, tenant_id))
        ]
    }


def changed_since_of(extra: dict[str, list[dict]]) -> str | None:
    """`prices_changed_since` from the raw items a shared batch read returned (table → items)."""
    items = extra.get(PriceChange.Meta.table_name, [])
    return min((item["since"]["S"] for item in items if item.get("since", {}).get("S")), default=None)


@dataclass
class Unpriced:
    """A model whose executions of a range have tokens but no cost: no price was known for it."""

    model: str
    count: int
    tokens: int
    priced_now: bool  # a price exists now: re-pricing fills the figures in


def unpriced_of(tenant_id: str, model_rows: dict[tuple[str, str], Totals]) -> list[Unpriced]:
    """From daily model rows already read (no DynamoDB call but the staff prices, cached)."""
    by_model: dict[str, Totals] = defaultdict(Totals)
    for (_, model), totals in model_rows.items():
        by_model[model].merge(totals)
    found = [
        Unpriced(
            model,
            totals.count,
            totals.tokens_in + totals.tokens_out,
            pricing.quote(tenant_id, model, pricing.Usage(input=1_000_000), clock.now()).priced,
        )
        for model, totals in by_model.items()
        if totals.cost_micro_usd == 0 and totals.tokens_in + totals.tokens_out > 0
    ]
    return sorted(found, key=lambda row: (-row.count, row.model))


def unpriced_models(tenant_id: str, start: date, end: date) -> list[Unpriced]:
    """The unpriced models of a range: 1 query of the daily model rows."""
    return unpriced_of(tenant_id, daily(tenant_id, "model", start, end))


@dataclass
class PricesPage:
    prices: list[ModelPrice]
    pending: list[PriceChange]  # `pending` markers: scopes whose figures predate a price change
    jobs: list[PriceChange]  # re-pricing runs, newest first


def prices_page(jobs: int = 10) -> PricesPage:
    """Every staff price, pending change and recent re-pricing run: two queries (one partition each)."""
    prices = sorted(all_staff_prices(), key=lambda p: (p.retired, p.model.lower(), p.scope, p.effective_from))
    pending, runs = [], []
    for item in PriceChange.query(PriceChange.BOOK, consistent_read=True):
        (pending if item.item.startswith("pending#") else runs).append(item)
    runs.sort(key=lambda job: job.created_at or "", reverse=True)
    return PricesPage(prices, pending, runs[:jobs])
