"""The display filters every page shares: one money format, moments "just now" and ago."""

from datetime import UTC, datetime, timedelta

import pytest

from dashboard.core import clock
from dashboard.core.templatetags.dashboard import ago, money

MINUS = "\u2212"


@pytest.mark.parametrize(
    "micro_usd, shown",
    [
        (0, "$0.00"),
        (1_234_567_890, "$1,234.57"),
        (500_000, "$0.50"),  # two decimals from a cent up, not "$0.5000"
        (10_000, "$0.01"),
        (7_500, "$0.0075"),  # more only below a cent
        (8_000, "$0.0080"),
        (7_950, "$0.0080"),  # to two significant digits
        (123, "$0.00012"),
        (50, "$0.000050"),
        (1, "$0.000001"),
        (-2_000_000, f"{MINUS}$2.00"),  # a true minus sign, before the dollar sign
        (-7_500, f"{MINUS}$0.0075"),
        (None, "—"),
    ],
)
def test_money_has_one_format_for_every_amount(micro_usd, shown):
    assert money(micro_usd) == shown


def test_money_in_dollars_uses_the_same_format():
    assert money(0.5, "usd") == "$0.50"
    assert money(0.00012, "usd") == "$0.00012"
    assert money(-3, "usd") == f"{MINUS}$3.00"


def test_a_moment_under_a_minute_old_is_just_now(monkeypatch):
    now = datetime(2026, 12, 7, 14, 5, 30, tzinfo=UTC)
    monkeypatch.setattr(clock, "now", lambda: now)
    assert ago(now - timedelta(seconds=59)) == "just now"
    assert ago(now + timedelta(seconds=5)) == "just now"
    assert ago((now - timedelta(seconds=10)).isoformat()) == "just now"
    assert ago(now - timedelta(minutes=1)) == "1\xa0minute ago"
    assert ago(now - timedelta(hours=3, minutes=2)) == "3\xa0hours ago"
