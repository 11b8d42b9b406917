"""The latency histogram kept in every rollup row, and percentiles read back from it.

Buckets grow geometrically by 25 % from 10 ms up to about 6 minutes, plus one overflow bucket.
Each bucket is its own number attribute (`h00` … `h48`) so recording an execution is one atomic
`ADD` on one counter. A percentile is located in its bucket by nearest rank and interpolated
linearly inside the bucket, so it is exact to within that bucket's width (at most 25 % of the
value); above the last bound it reports the last bound.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

GROWTH = 1.25
FIRST_BOUND_MS = 10
BOUND_COUNT = 48

# Inclusive upper bounds (ms) of buckets 0 … 47; bucket 48 takes everything slower.
BOUNDS_MS: tuple[int, ...] = tuple(round(FIRST_BOUND_MS * GROWTH**i) for i in range(BOUND_COUNT))
BUCKET_COUNT = BOUND_COUNT + 1
BUCKET_ATTRIBUTES: tuple[str, ...] = tuple(f"h{i:02d}" for i in range(BUCKET_COUNT))


def bucket_index(duration_ms: int) -> int:
    return bisect_left(BOUNDS_MS, max(0, int(duration_ms)))


def bucket_attribute(duration_ms: int) -> str:
    return BUCKET_ATTRIBUTES[bucket_index(duration_ms)]


def bucket_range(index: int) -> tuple[int, int]:
    low = 0 if index == 0 else BOUNDS_MS[index - 1]
    high = BOUNDS_MS[index] if index < BOUND_COUNT else BOUNDS_MS[-1]
    return low, high


def percentile(counts: Sequence[int], fraction: float) -> int | None:
    """The `fraction` (0–1) percentile in ms from bucket counts, or None when there is no data."""
    total = sum(counts)
    if total == 0:
        return None
    rank = max(1.0, fraction * total)  # nearest rank: the value below which `fraction` of runs fall
    seen = 0
    for index, count in enumerate(counts):
        if count and seen + count >= rank:
            low, high = bucket_range(index)
            return round(low + (high - low) * (rank - seen) / count)
        seen += count
    return bucket_range(BUCKET_COUNT - 1)[1]
