"""The per-key token bucket, against DynamoDB Local: bursts, refill over (moved) time, concurrency."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from dashboard.apikeys import queries as apikey_queries
from dashboard.apikeys import services as api_limits
from dashboard.core import clock
from dashboard.dynamo.metrics import track
from tests.conftest import unique


@pytest.fixture
def frozen(monkeypatch):
    """A clock the test moves by hand: `frozen.advance(seconds)`. It starts at the real time, never
    before: DynamoDB Local deletes items whose TTL has passed in real time."""

    class Frozen:
        moment = datetime.now(UTC)

        def advance(self, seconds: float) -> None:
            self.moment += timedelta(seconds=seconds)

    state = Frozen()
    monkeypatch.setattr(clock, "now", lambda: state.moment)
    return state


@pytest.fixture
def small_limit(settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 10  # one token every 6 seconds
    settings.API_RATE_LIMIT_BURST = 0


def test_a_burst_over_the_limit_is_refused_with_a_sensible_retry_after(dynamodb_local, small_limit, frozen):
    key_id = unique("key")
    decisions = [api_limits.take(key_id) for _ in range(12)]
    assert [d.allowed for d in decisions] == [True] * 10 + [False] * 2
    assert [d.remaining for d in decisions[:10]] == list(range(9, -1, -1))
    refused = decisions[-1]
    assert refused.limit == 10 and refused.remaining == 0
    assert refused.retry_after == 6  # one token comes back every 6 s
    assert refused.reset_seconds == 60  # all ten are back within the minute


def test_the_burst_allowance_adds_tokens_on_top_of_the_minute(dynamodb_local, settings, frozen):
    settings.API_RATE_LIMIT_PER_MINUTE = 10
    settings.API_RATE_LIMIT_BURST = 5
    key_id = unique("key")
    allowed = sum(api_limits.take(key_id).allowed for _ in range(20))
    assert allowed == 15


def test_tokens_come_back_as_time_passes(dynamodb_local, small_limit, frozen):
    key_id = unique("key")
    for _ in range(10):
        assert api_limits.take(key_id).allowed
    assert not api_limits.take(key_id).allowed
    frozen.advance(5)
    assert not api_limits.take(key_id).allowed
    frozen.advance(1)
    assert api_limits.take(key_id).allowed  # one token back after 6 s
    assert not api_limits.take(key_id).allowed
    frozen.advance(600)  # idle a long time: the bucket is full, never fuller
    assert sum(api_limits.take(key_id).allowed for _ in range(15)) == 10


def test_keys_have_buckets_of_their_own(dynamodb_local, small_limit, frozen):
    first, second = unique("key"), unique("key")
    for _ in range(10):
        api_limits.take(first)
    assert not api_limits.take(first).allowed
    assert api_limits.take(second).allowed


def test_a_bucket_is_shared_by_every_process(dynamodb_local, small_limit, frozen):
    """Another web process has no memory of this one's hints: only DynamoDB decides."""
    key_id = unique("key")
    for _ in range(6):
        api_limits.take(key_id)
    api_limits._last_tat.clear()  # as if the next requests reached a fresh process
    assert sum(api_limits.take(key_id).allowed for _ in range(10)) == 4


@pytest.mark.parametrize("head_start", [0, 9])
def test_concurrent_requests_get_exactly_the_tokens_there_are(
    dynamodb_local, small_limit, frozen, head_start
):
    """30 threads at once against a bucket of 10 (or with a single token left): no more pass."""
    key_id = unique("key")
    for _ in range(head_start):
        api_limits.take(key_id)
    with ThreadPoolExecutor(max_workers=30) as pool:
        decisions = list(pool.map(lambda _i: api_limits.take(key_id), range(30)))
    assert sum(d.allowed for d in decisions) == 10 - head_start
    assert all(d.retry_after >= 1 for d in decisions if not d.allowed)


def test_every_request_is_counted_per_day(dynamodb_local, small_limit, frozen):
    key_id = unique("key")
    for _ in range(12):
        api_limits.take(key_id)
    frozen.advance(24 * 3600)
    api_limits.take(key_id)
    usage = apikey_queries.usage_last_7_days([key_id])[key_id]
    assert usage.requests == 13 and usage.limited == 2
    assert [count for _day, count in usage.days][-2:] == [12, 1]
    assert usage.last_at == frozen.moment
    frozen.advance(7 * 24 * 3600)
    assert apikey_queries.usage_last_7_days([key_id])[key_id].requests == 0


def test_a_request_costs_one_limiter_call_and_one_usage_count(dynamodb_local, small_limit, frozen):
    """The bucket's conditional update plus the day's ADD; a wrong region guess or a 429 adds a GetItem."""
    key_id = unique("key")
    costs = []
    for step in range(16):
        if step == 5:
            frozen.advance(120)  # quiet again: the bucket is full, the next request finds it idle
        with track() as stats:
            api_limits.take(key_id)
        costs.append(stats.operations)
    assert costs[:5] == [{"UpdateItem": 2}] * 5  # first ever, then a busy key
    assert costs[5:15] == [{"UpdateItem": 2}] * 10  # a key back from quiet, its 10 tokens
    assert costs[15] == {"GetItem": 1, "UpdateItem": 1}  # refused: read how long to wait, count it
