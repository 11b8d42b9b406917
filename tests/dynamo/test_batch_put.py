"""`batch_put` on DynamoDB Local writes in transactions of up to 100 items (the engine commits, and
syncs to disk, each item of a BatchWriteItem on its own: ten times slower on disk); on AWS, batches."""

from __future__ import annotations

from datetime import timedelta

from dashboard.analytics.models import TraceItem
from dashboard.core import clock
from dashboard.dynamo import transactions
from tests.conftest import unique


def _items(pk: str, count: int) -> list[TraceItem]:
    expires = clock.now() + timedelta(days=1)
    return [
        TraceItem(pk, f"span#{n:016x}", tenant_id="t", trace_id="x", span_id=f"{n:016x}", expires_at=expires)
        for n in range(count)
    ]


def _calls(monkeypatch) -> list[str]:
    client = transactions.client_of(TraceItem)
    seen: list[str] = []
    for name in ("batch_write_item", "transact_write_items"):
        real = getattr(client, name)

        def spy(*args, _real=real, _name=name, **kwargs):
            seen.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(client, name, spy)
    return seen


def test_on_dynamodb_local_it_puts_a_hundred_items_a_transaction(monkeypatch):
    pk = unique("batch")
    calls = _calls(monkeypatch)
    transactions.batch_put(TraceItem, _items(pk, 250))
    assert calls == ["transact_write_items"] * 3
    assert TraceItem.count(pk) == 250


def test_elsewhere_it_puts_25_items_a_batch(monkeypatch):
    pk = unique("batch")
    monkeypatch.setattr(transactions, "_on_dynamodb_local", lambda: False)
    calls = _calls(monkeypatch)
    transactions.batch_put(TraceItem, _items(pk, 60))
    assert calls == ["batch_write_item"] * 3
    assert TraceItem.count(pk) == 60


def test_large_binary_items_are_split_under_the_requests_four_megabytes():
    """Digests and their tails are binary items of up to 350 KB, sent as base64: a dozen at once once
    broke a transaction's 4 MB limit (the estimate counted raw bytes)."""
    import os

    from dashboard.analytics.models import RollupDigest

    pk = unique("big")
    items = [RollupDigest(f"{pk}#{n}", rows=os.urandom(340_000)) for n in range(14)]
    transactions.batch_put(RollupDigest, items)
    assert len(list(RollupDigest.batch_get([f"{pk}#{n}" for n in range(14)]))) == 14
