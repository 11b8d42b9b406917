"""What a call costs: the catalogue for names as providers send them, staff prices over it, token kinds."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import genai_prices
import pytest

from dashboard.analytics import pricing, services
from dashboard.analytics.inputs import PriceIn
from dashboard.analytics.pricing import Rates, Usage
from dashboard.core.errors import ValidationFailed
from tests.analytics.conftest import STAFF_SCOPE, slug

AT = datetime(2026, 11, 20, 12, tzinfo=UTC)
USAGE = Usage(input=1_000_000, cache_read=200_000, output=1_000_000)


def catalogue_micro(model: str, usage: Usage, provider: str | None = None) -> int:
    """The catalogue's own figure, independently of our code: USD → micro-USD, half up."""
    price = genai_prices.calc_price(
        genai_prices.Usage(
            input_tokens=usage.input, cache_read_tokens=usage.cache_read, output_tokens=usage.output
        ),
        model,
        provider_id=provider,
        genai_request_timestamp=AT,
    )
    return int((price.total_price * 1_000_000).to_integral_value(rounding="ROUND_HALF_UP"))


@pytest.mark.parametrize(
    ("sent", "provider", "catalogue_name", "catalogue_provider"),
    [
        ("gpt-4o-mini-2024-07-18", None, "gpt-4o-mini", None),  # dated, as OpenAI answers
        ("gpt-4o-mini", "openai", "gpt-4o-mini", "openai"),
        ("openai/gpt-4o", None, "gpt-4o", "openai"),  # provider-prefixed (litellm, OpenRouter)
        ("claude-3-5-sonnet-20241022", None, "claude-3-5-sonnet", None),
        ("anthropic.claude-3-5-sonnet-20241022-v2:0", "aws.bedrock", "claude-3-5-sonnet", None),
        ("us.anthropic.claude-3-5-sonnet-20241022-v2:0", None, "claude-3-5-sonnet", None),  # Bedrock profile
        ("claude-3-5-sonnet-v2@20241022", "gcp.vertex_ai", "claude-3-5-sonnet", None),  # Vertex
        ("publishers/google/models/gemini-1.5-pro-002", None, "gemini-1.5-pro", None),
        ("gpt-4o-2024-08-06", "az.ai.openai", "gpt-4o", "azure"),  # an Azure deployment's model
    ],
)
def test_names_as_providers_send_them_get_the_catalogue_price(
    sent, provider, catalogue_name, catalogue_provider
):
    quote = pricing.catalogue_quote(sent, USAGE, AT, provider)
    assert quote.source == "catalogue" and quote.cost_micro_usd > 0
    assert quote.cost_micro_usd == catalogue_micro(catalogue_name, USAGE, catalogue_provider)


def test_a_dated_name_costs_what_the_catalogue_says_for_its_model():
    quote = pricing.catalogue_quote("gpt-4o-mini-2024-07-18", USAGE, AT)
    # $0.15/M input (800k uncached), $0.075/M cached (200k), $0.60/M output (1M)
    assert quote.cost_micro_usd == 120_000 + 15_000 + 600_000
    assert quote.rates == Rates(input=150_000, output=600_000, cache_read=75_000)
    assert (quote.provider, quote.matched) == ("openai", "gpt-4o-mini")


def test_an_unknown_model_has_no_price_and_costs_zero():
    quote = pricing.quote(None, "house-model-7", USAGE, AT)
    assert (quote.source, quote.cost_micro_usd, quote.priced) == ("none", 0, False)


def test_each_token_kind_is_priced_at_its_own_rate():
    rates = Rates(
        input=1_000_000, output=4_000_000, cache_read=100_000, cache_write=1_250_000, reasoning=8_000_000
    )
    usage = Usage(input=1_000, cache_read=300, cache_write=100, output=500, reasoning=200)
    # 600 plain input, 300 read, 100 written, 300 plain output, 200 reasoning (µUSD per token = rate / 1M)
    assert rates.cost(usage) == 600 * 1 + 300 * 0.1 + 100 * 1.25 + 300 * 4 + 200 * 8


def test_a_kind_without_its_own_rate_costs_as_input_or_output():
    rates = Rates(input=1_000_000, output=4_000_000)
    assert rates.cost(Usage(input=1_000, cache_read=400, output=500, reasoning=100)) == 1_000 + 500 * 4


def test_cache_tokens_counted_apart_from_input_are_added_to_it():
    # Anthropic's API counts input without the cached part: 100 new + 900 read is 1,000 input tokens.
    assert Usage(input=100, cache_read=900).normalized().input == 1_000
    assert Usage(input=1_000, cache_read=900).normalized().input == 1_000


def test_fractions_of_a_micro_dollar_round_half_up_once_per_call():
    assert Rates(input=500_000, output=0).cost(Usage(input=1)) == 1  # exactly 0.5 rounds up
    assert Rates(input=150_000, output=0).cost(Usage(input=3)) == 0  # 0.45
    assert Rates(input=150_000, output=0).cost(Usage(input=4)) == 1  # 0.6


def _price(model: str, start: date, tenant_id=None, **rates) -> None:
    services.save_price(
        STAFF_SCOPE,
        PriceIn.clean(
            model=model,
            effective_from=start.isoformat(),
            tenant_id=tenant_id,
            input=rates.get("input", "1"),
            output=rates.get("output", "2"),
            **{k: v for k, v in rates.items() if k not in ("input", "output")},
        ),
    )


def test_an_override_beats_the_catalogue_from_its_start_day_and_matches_dated_names(people):
    model = f"{slug('gpt')}-mini"
    _price(model, date(2026, 11, 10), input="1.00", output="2.00")
    dated = f"{model}-2024-07-18"  # not in the catalogue: a pattern is needed for its dated name
    _price(f"{model}*", date(2026, 11, 15), input="3.00", output="4.00")
    usage = Usage(input=1_000_000, output=1_000_000)
    before = pricing.quote(None, model, usage, datetime(2026, 11, 9, tzinfo=UTC))
    exact = pricing.quote(None, model, usage, AT)
    pattern = pricing.quote(None, dated, usage, AT)
    assert before.source == "none"  # before the start day the price is not in force
    assert (exact.source, exact.cost_micro_usd) == ("override", 3_000_000)  # exact name beats the pattern
    assert (pattern.source, pattern.cost_micro_usd) == ("override", 7_000_000)
    assert f"{model}* from 2026-11-15, v1" in pattern.why


def test_an_override_of_a_catalogue_model_prices_its_dated_names_too(people):
    tenant_id = slug("t")
    from dashboard.accounts import services as accounts

    accounts.create_tenant(tenant_id, "Contract tenant")
    _price("gpt-4o-mini", date(2026, 11, 1), tenant_id=tenant_id, input="0.10", output="0.20")
    usage = Usage(input=1_000_000, output=1_000_000)
    contract = pricing.quote(tenant_id, "gpt-4o-mini-2024-07-18", usage, AT)
    others = pricing.quote(None, "gpt-4o-mini-2024-07-18", usage, AT)
    assert (contract.source, contract.cost_micro_usd) == ("contract", 300_000)
    assert others.source == "catalogue" and others.cost_micro_usd == catalogue_micro("gpt-4o-mini", usage)


def test_a_retired_price_stops_applying(people):
    model = slug("house")
    _price(model, date(2026, 11, 1))
    price = next(p for p in pricing.staff_prices(pricing.EVERY_TENANT) if p.model == model)
    services.retire_price(STAFF_SCOPE, price.scope, price.price_id, price.version)
    assert pricing.quote(None, model, USAGE, AT).source == "none"


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        ("model", "gpt 4o"),
        ("model", "***"),
        ("input", "-1"),
        ("input", "abc"),
        ("output", "1e400"),
        ("effective_from", "2026-13-01"),
        ("cache_read", "0.0000001"),
    ],
)
def test_a_price_that_makes_no_sense_is_refused_with_the_field_named(field, raw):
    values = {"model": "gpt-4o", "effective_from": "2026-11-01", "input": "1", "output": "2", field: raw}
    with pytest.raises(ValidationFailed) as caught:
        PriceIn.clean(**values)
    assert field in caught.value.fields


def test_rates_are_read_as_dollars_per_million_tokens():
    value = PriceIn.clean(
        model="m", effective_from="2026-11-01", input="$2.50", output=Decimal("10"), cache_read=""
    )
    assert (value.input, value.output, value.cache_read) == (2_500_000, 10_000_000, None)
