"""Cost of an execution from the price table: integer micro-USD, rounded half up."""

from dashboard.analytics import pricing
from dashboard.analytics.pricing import Price, cost_micro_usd


def test_cost_is_tokens_times_price_per_million():
    price = Price(input=2_500_000, output=10_000_000)  # $2.50 / $10 per 1M tokens
    assert cost_micro_usd(price, 1_000_000, 0) == 2_500_000
    assert cost_micro_usd(price, 1_000, 500) == 2_500 + 5_000


def test_fractions_of_a_micro_dollar_round_half_up():
    price = Price(input=150_000, output=600_000)
    assert cost_micro_usd(price, 3, 0) == 0  # 0.45 µUSD
    assert cost_micro_usd(price, 4, 0) == 1  # 0.6 µUSD
    assert cost_micro_usd(Price(input=500_000, output=0), 1, 0) == 1  # exactly 0.5 rounds up
    assert cost_micro_usd(Price(input=1_500_000, output=0), 1, 0) == 2  # 1.5 rounds up


def test_cost_is_always_an_integer():
    price = Price(input=880_000, output=880_000)
    assert isinstance(cost_micro_usd(price, 1234, 567), int)


def test_settings_can_override_and_add_prices(settings):
    settings.ANALYTICS_MODEL_PRICES = {
        "gpt-4o": {"input": 1_000_000, "output": 2_000_000},
        "house-model": {"input": 100, "output": 200},
    }
    assert pricing.price_for("gpt-4o") == Price(1_000_000, 2_000_000)
    assert pricing.price_for("house-model") == Price(100, 200)
    assert pricing.price_for("claude-3-5-haiku") == pricing.DEFAULT_PRICES["claude-3-5-haiku"]


def test_an_unknown_model_has_no_price():
    assert pricing.price_for("no-such-model") is None
