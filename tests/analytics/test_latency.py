"""p50/p95 read back from the histogram buckets."""

from dashboard.analytics import latency


def test_durations_fall_in_the_bucket_whose_bound_holds_them():
    assert latency.bucket_index(0) == 0
    assert latency.bucket_index(10) == 0
    assert latency.bucket_index(11) == 1
    assert latency.bucket_index(10**9) == latency.BUCKET_COUNT - 1


def test_percentiles_land_within_a_bucket_of_the_exact_value():
    durations = list(range(100, 10_100, 100))  # 100 ms … 10 s, evenly
    counts = [0] * latency.BUCKET_COUNT
    for duration in durations:
        counts[latency.bucket_index(duration)] += 1
    for fraction, exact in ((0.5, 5_000), (0.95, 9_500)):
        estimate = latency.percentile(counts, fraction)
        assert abs(estimate - exact) <= exact * 0.25


def test_one_value_is_its_own_percentile_bucket():
    counts = [0] * latency.BUCKET_COUNT
    counts[latency.bucket_index(1_000)] = 1
    low, high = latency.bucket_range(latency.bucket_index(1_000))
    assert low <= latency.percentile(counts, 0.5) <= high


def test_no_data_has_no_percentile():
    assert latency.percentile([0] * latency.BUCKET_COUNT, 0.95) is None
