"""What a model call costs: the price in force at its start, and the cost in integer micro-USD.

Where a price comes from, first found wins:
1. **contract**: a price staff set for this tenant (`ModelPrice` with the tenant as scope);
2. **override**: a price staff set for every tenant (scope `*`);
3. **catalogue**: Pydantic's maintained `genai-prices` catalogue (pinned in pyproject.toml: a newer
   catalogue arrives with a dependency update), with its price history, cache and tier prices.
A cost the client sends is kept as sent (source **client**). A model no source prices costs 0 with
source **none**, and the pages name it (never hidden as a plain $0).

A staff price names a model exactly or by a pattern with `*`, matched without case against the name as
sent and against the catalogue model that name resolves to (so `gpt-4o-mini` also prices
`gpt-4o-mini-2024-07-18`). Of the prices in force at the call's start (`effective_from` ≤ start), the
exact name beats a pattern, a longer pattern a shorter one, a later start an earlier one.

Names are taken as providers send them: dated (`gpt-4o-mini-2024-07-18`), provider-prefixed
(`openai/gpt-4o`), cloud forms (Bedrock `anthropic.claude-…-v2:0`, `us.anthropic.…`, ARNs; Vertex
`publishers/google/models/…`, `claude-…@2024…`; Gemini's `models/…`), with the provider from
`gen_ai.provider.name` / `gen_ai.system` / `llm.provider` when sent.

Token kinds: `input` counts every input token and `output` every output token; `cache_read` and
`cache_write` are parts of `input`, `reasoning` a part of `output`, each priced at its own rate (a
staff price that leaves one empty charges it at the input or output rate). A client that counts
cached tokens apart from input (Anthropic's API does) is recognised by cache tokens exceeding input,
and its input is taken as the uncached part.

Rounding: the cost of one call is computed exactly (integers for staff prices, decimals for the
catalogue) and rounded once to the nearest micro-USD, halves up. Sums add those integers, so a total
is always the sum of the rows shown.
"""

from __future__ import annotations

import fnmatch
import re
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from importlib.metadata import version

import genai_prices
from django.conf import settings

TOKENS_PER_PRICE_UNIT = 1_000_000
CATALOGUE = f"genai-prices {version('genai-prices')}"
SOURCES = ("contract", "override", "catalogue", "client", "trace", "none")
SOURCE_LABELS = {
    "contract": "tenant contract",
    "override": "staff override",
    "catalogue": "catalogue",
    "client": "sent by the client",
    "trace": "sum of its model calls",
    "none": "no price",
}
EVERY_TENANT = "*"

# Provider names as instrumentations send them → the catalogue's provider ids.
PROVIDER_ALIASES = {
    "aws.bedrock": "aws",
    "bedrock": "aws",
    "amazon": "aws",
    "gcp.vertex_ai": "google",
    "gcp.gemini": "google",
    "gcp.gen_ai": "google",
    "vertex_ai": "google",
    "vertexai": "google",
    "vertex": "google",
    "gemini": "google",
    "az.ai.openai": "azure",
    "azure.ai.openai": "azure",
    "az.ai.inference": "azure",
    "azure.ai.inference": "azure",
    "azure_openai": "azure",
    "mistral_ai": "mistral",
    "mistralai": "mistral",
    "x_ai": "x-ai",
    "xai": "x-ai",
    "meta_llama": "meta",
    "together_ai": "together",
    "togetherai": "together",
    "fireworks_ai": "fireworks",
    "deepseek_ai": "deepseek",
}
# Bedrock cross-region inference profiles put a region group before the model id.
_BEDROCK_REGION = re.compile(r"^(us|eu|apac|ap|us-gov|jp|au|ca|global)\.(?=[a-z0-9-]+\.)")
# A Vertex `claude-3-5-sonnet-v2@20241022` is Anthropic's `claude-3-5-sonnet-20241022`.
_VERTEX_VERSION = re.compile(r"^(?P<name>.+?)(?:-v\d+)?@(?P<date>\d{8})$")


@dataclass(frozen=True)
class Usage:
    """The tokens of one call (or the sum of an execution's calls)."""

    input: int = 0  # every input token, cached ones included
    output: int = 0  # every output token, reasoning included
    cache_read: int = 0
    cache_write: int = 0
    reasoning: int = 0

    def normalized(self) -> Usage:
        """Totals that include their parts, whichever way the client counted."""
        values = {name: max(int(getattr(self, name) or 0), 0) for name in Usage.__dataclass_fields__}
        usage = Usage(**values)
        if usage.cache_read + usage.cache_write > usage.input:  # input sent without its cached part
            usage = replace(usage, input=usage.input + usage.cache_read + usage.cache_write)
        return replace(usage, output=max(usage.output, usage.reasoning))

    def __add__(self, other: Usage) -> Usage:
        return Usage(*(getattr(self, name) + getattr(other, name) for name in Usage.__dataclass_fields__))


@dataclass(frozen=True)
class Rates:
    """micro-USD per 1,000,000 tokens of each kind; None: charged as input (cache) or output (reasoning)."""

    input: int
    output: int
    cache_read: int | None = None
    cache_write: int | None = None
    reasoning: int | None = None

    def cost(self, usage: Usage) -> int:
        usage = usage.normalized()
        plain_in = usage.input - usage.cache_read - usage.cache_write
        plain_out = usage.output - usage.reasoning
        numerator = (
            plain_in * self.input
            + usage.cache_read * _or(self.cache_read, self.input)
            + usage.cache_write * _or(self.cache_write, self.input)
            + plain_out * self.output
            + usage.reasoning * _or(self.reasoning, self.output)
        )
        return (numerator + TOKENS_PER_PRICE_UNIT // 2) // TOKENS_PER_PRICE_UNIT

    def as_dict(self) -> dict[str, int | None]:
        return {
            "input": self.input,
            "cache_read": self.cache_read,
            "cache_write": self.cache_write,
            "output": self.output,
            "reasoning": self.reasoning,
        }


def _or(value: int | None, fallback: int) -> int:
    return fallback if value is None else value


@dataclass(frozen=True)
class Quote:
    """The price that applies to one call and what it costs."""

    cost_micro_usd: int
    source: str  # one of SOURCES
    ref: str | None  # what executions keep: the catalogue model (provider/model) or the staff price
    # (`<model> from <day>, v<version>`)
    matched: str | None  # the model name the price is for (catalogue model id or the staff pattern)
    provider: str | None  # the catalogue provider the name resolved to
    rates: Rates | None
    effective_from: str | None = None
    price_id: str | None = None  # a staff price's id

    @property
    def priced(self) -> bool:
        return self.source != "none"

    @property
    def why(self) -> str:
        """One sentence for the execution page: which price applied and why."""
        if self.source == "client":
            return "The client sent this cost; it is kept as sent."
        if self.source == "trace":
            return "The sum of its model calls, each priced on its own (see the steps)."
        if self.source == "none":
            return "No price is known for this model: counted at $0 until staff add one."
        if self.source == "catalogue":
            return f"Catalogue price ({CATALOGUE}) of {self.provider} {self.matched}."
        whose = "this tenant's contract" if self.source == "contract" else "a staff override for every tenant"
        return f"{whose.capitalize()}: {self.ref}."


UNPRICED = Quote(0, "none", None, None, None, None)


# --- the catalogue ---------------------------------------------------------------------------


def provider_id(sent: str | None) -> str | None:
    """A provider name as an instrumentation sends it → the catalogue's id (None: not sent)."""
    if not sent:
        return None
    name = str(sent).strip().lower()
    return PROVIDER_ALIASES.get(name, name) or None


def name_forms(model: str) -> list[tuple[str, str | None]]:
    """(name, provider implied by the name) to try in the catalogue, most literal first."""
    name = model.strip()
    forms: list[tuple[str, str | None]] = [(name, None)]
    if name.startswith("arn:") and "/" in name:  # Bedrock ARNs end in the model or profile id
        name = name.rsplit("/", 1)[1]
        forms.append((name, "aws"))
    if "/models/" in name or name.startswith("models/"):  # Vertex / Gemini resource names
        name = name.rsplit("/", 1)[1]
        forms.append((name, None))
    if "/" in name:  # openai/gpt-4o, anthropic/claude-…, litellm's and OpenRouter's form
        prefix, rest = name.split("/", 1)
        forms.append((rest, provider_id(prefix)))
        forms.append((name.rsplit("/", 1)[1], None))
    unprefixed = _BEDROCK_REGION.sub("", name)
    if unprefixed != name:
        forms.append((unprefixed, "aws"))
    vertex = _VERTEX_VERSION.match(name)
    if vertex:
        forms.append((f"{vertex['name']}-{vertex['date']}", None))
    seen: set[tuple[str, str | None]] = set()
    return [form for form in forms if not (form in seen or seen.add(form))]


@lru_cache(maxsize=4096)
def _catalogue_model(model: str, provider: str | None):
    """(catalogue provider, catalogue model) for a name as sent, or None."""
    snapshot = genai_prices.data_snapshot.get_snapshot()
    for name, implied in name_forms(model):
        for hint in dict.fromkeys((provider, implied, None)):
            try:
                return snapshot.find_provider_model(name, None, hint, None)
            except LookupError:
                continue
    return None


def _micro(value) -> int | None:
    if value is None:
        return None
    value = getattr(value, "base", value)  # tiered prices: the base tier, for display
    return int((Decimal(value) * TOKENS_PER_PRICE_UNIT).to_integral_value(ROUND_HALF_UP))


def catalogue_quote(model: str, usage: Usage, at: datetime, provider: str | None = None) -> Quote:
    found = _catalogue_model(model, provider_id(provider))
    if found is None:
        return UNPRICED
    catalogue_provider, info = found
    usage = usage.normalized()
    prices = info.get_prices(at)
    calculation = prices.calc_price(
        genai_prices.Usage(
            input_tokens=usage.input,
            cache_read_tokens=usage.cache_read,
            cache_write_tokens=usage.cache_write,
            output_tokens=usage.output,
            output_reasoning_tokens=usage.reasoning,
        )
    )
    cost = int((calculation["total_price"] * TOKENS_PER_PRICE_UNIT).to_integral_value(ROUND_HALF_UP))
    rates = Rates(
        input=_micro(prices.input_mtok) or 0,
        output=_micro(prices.output_mtok) or 0,
        cache_read=_micro(prices.cache_read_mtok),
        cache_write=_micro(prices.cache_write_mtok),
    )
    return Quote(
        cost,
        "catalogue",
        f"{catalogue_provider.id}/{info.id}",
        info.id,
        catalogue_provider.id,
        rates,
    )


# --- staff prices ----------------------------------------------------------------------------

_cache: dict[str, tuple[float, list]] = {}
_cache_lock = threading.Lock()


def cache_seconds() -> float:
    """How long a process may price with staff prices it read earlier (re-pricing waits this long)."""
    return float(settings.PRICES_CACHE_SECONDS)


def forget() -> None:
    """Read staff prices afresh on next use (after a change in this process)."""
    with _cache_lock:
        _cache.clear()


def staff_prices(scope: str | None = None) -> list:
    """The staff prices (of one scope: a tenant, or EVERY_TENANT), read at most once per
    cache_seconds() per process: one query for every price of every tenant."""
    from dashboard.analytics.queries import all_staff_prices  # reads live in queries

    now = time.monotonic()
    with _cache_lock:
        kept = _cache.get("all")
    if kept is None or kept[0] <= now:
        kept = (now + cache_seconds(), all_staff_prices())
        with _cache_lock:
            _cache["all"] = kept
    return kept[1] if scope is None else [price for price in kept[1] if price.scope == scope]


def _matches(pattern: str, names: list[str]) -> bool:
    pattern = pattern.lower()
    if "*" in pattern:
        return any(fnmatch.fnmatchcase(name, pattern) for name in names)
    return pattern in names


def _specificity(price) -> tuple:
    pattern = price.model.lower()
    return ("*" not in pattern, len(pattern.replace("*", "")), price.effective_from, price.updated_at)


def staff_price(prices: list, names: list[str], provider: str | None, at: str):
    """The staff price in force at `at` (ISO) for any of the names, or None."""
    candidates = [
        price
        for price in prices
        if not price.retired
        and price.effective_from <= at
        and (not price.provider or provider_id(price.provider) == provider)
        and _matches(price.model, names)
    ]
    return max(candidates, key=_specificity, default=None)


def rates_of(price) -> Rates:
    return Rates(
        input=int(price.input),
        output=int(price.output),
        cache_read=None if price.cache_read is None else int(price.cache_read),
        cache_write=None if price.cache_write is None else int(price.cache_write),
        reasoning=None if price.reasoning is None else int(price.reasoning),
    )


def quote(
    tenant_id: str | None,
    model: str,
    usage: Usage,
    at: datetime,
    provider: str | None = None,
    prices: list | None = None,
) -> Quote:
    """The price in force for this tenant at the call's start and the cost of `usage` at it.
    `prices`: every staff price, read once by a caller pricing many calls (a re-pricing run); by
    default the process's cached copy (`staff_prices`)."""
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    catalogue = catalogue_quote(model, usage, at, provider)
    names = list(dict.fromkeys(name.lower() for name in (model, catalogue.matched) if name))
    wanted = provider_id(provider) or catalogue.provider
    moment = at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    scopes = ([("contract", tenant_id)] if tenant_id else []) + [("override", EVERY_TENANT)]
    for source, scope in scopes:
        of_scope = staff_prices(scope) if prices is None else [p for p in prices if p.scope == scope]
        price = staff_price(of_scope, names, wanted, moment)
        if price is not None:
            rates = rates_of(price)
            return Quote(
                rates.cost(usage),
                source,
                f"{price.model} from {price.effective_from[:10]}, v{price.version}",
                price.model,
                wanted,
                rates,
                price.effective_from[:10],
                price.price_id,
            )
    return catalogue


def client_quote(cost_micro_usd: int) -> Quote:
    return Quote(int(cost_micro_usd), "client", None, None, None, None)


def explain(source: str | None, ref: str | None) -> str:
    """Which price applied to a stored execution or call and why, in one sentence."""
    source = source or "catalogue"  # recorded before costs named their source
    if source == "catalogue":
        return f"Catalogue price ({CATALOGUE}){f' of {ref}' if ref else ''}: no staff price applied."
    if source == "contract":
        return f"This tenant's contract price ({ref}), set by staff over the catalogue's."
    if source == "override":
        return f"A staff override for every tenant ({ref}), over the catalogue's."
    if source == "client":
        return "The client sent this cost; it is kept as sent."
    if source == "trace":
        return "The sum of its model calls, each priced on its own (see the steps)."
    return "No price is known for this model: counted at $0 until staff add one."
