"""Per-model prices and the cost of one execution, in integer micro-USD.

Prices are micro-USD per 1,000,000 tokens, input and output apart. The defaults below can be
overridden or extended with the setting `ANALYTICS_MODEL_PRICES = {"model": {"input": …, "output": …}}`.

Rounding: cost = (tokens_in × input price + tokens_out × output price) / 1,000,000, computed in
integers and rounded to the nearest micro-USD, halves up, once per execution. Sums over executions
add those integers, so a total is always the sum of the rows shown in the history.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

TOKENS_PER_PRICE_UNIT = 1_000_000


@dataclass(frozen=True)
class Price:
    input: int  # micro-USD per 1M input tokens
    output: int  # micro-USD per 1M output tokens


DEFAULT_PRICES: dict[str, Price] = {
    "gpt-4o": Price(input=2_500_000, output=10_000_000),
    "gpt-4o-mini": Price(input=150_000, output=600_000),
    "claude-3-5-sonnet": Price(input=3_000_000, output=15_000_000),
    "claude-3-5-haiku": Price(input=800_000, output=4_000_000),
    "llama-3.1-70b": Price(input=880_000, output=880_000),
    "mistral-large": Price(input=2_000_000, output=6_000_000),
}


def price_table() -> dict[str, Price]:
    prices = dict(DEFAULT_PRICES)
    for model, price in getattr(settings, "ANALYTICS_MODEL_PRICES", {}).items():
        prices[model] = Price(input=int(price["input"]), output=int(price["output"]))
    return prices


def price_for(model: str) -> Price | None:
    return price_table().get(model)


def cost_micro_usd(price: Price, tokens_in: int, tokens_out: int) -> int:
    """Integer micro-USD, rounded half up (see the module docstring)."""
    numerator = tokens_in * price.input + tokens_out * price.output
    return (numerator + TOKENS_PER_PRICE_UNIT // 2) // TOKENS_PER_PRICE_UNIT
