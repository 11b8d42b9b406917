"""Real agents, instrumented by the libraries people use, cost what they cost (issue 25).

Each case runs tests/api/instrumented_agent.py in its own process (the libraries patch the same OpenAI
SDK) against a fake OpenAI-compatible provider (tests/api/fake_openai.py: a dated model name, cached and
reasoning tokens, a 429 on request), or the Anthropic SDK against a fake Messages API
(tests/api/fake_anthropic.py: cache read and cache write counted apart from input, a 529), exporting
with the OTel SDK's OTLP/HTTP exporter to the live test server. What each library reports is its own: the expected cost is computed here from the
`genai_prices` package with the fake's usage numbers as that library passes them on.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from decimal import ROUND_HALF_UP
from pathlib import Path

import genai_prices
import pytest

from dashboard.analytics import queries
from dashboard.analytics.queries import get_execution
from dashboard.core import clock
from dashboard.core.scope import STAFF, AccessScope
from dashboard.operations.queries import spans_not_understood, usage_rows
from tests.analytics.conftest import TenantKit, make_tenant, slug
from tests.api import fake_anthropic, fake_openai
from tests.api.fake_anthropic import FakeAnthropic
from tests.api.fake_openai import (
    CACHED_TOKENS,
    COMPLETION_TOKENS,
    PROMPT_TOKENS,
    REASONING_TOKENS,
    FakeOpenAI,
)
from tests.api.instrumented_agent import ENVIRONMENT, SESSION, USER

ROOT = Path(__file__).resolve().parents[2]
DATED = "gpt-4o-mini-2024-07-18"
STAFF_SCOPE = AccessScope(role=STAFF, actor_id="usr_test_staff", actor_label="staff@test", tenant_id=None)

# What each library passes on of the provider's answer (checked against the spans it made, below).
REPORTS = {
    # opentelemetry-instrumentation-openai-v2 2.3b0: input/output only, the dated response model
    "genai": {"model": DATED, "cache_read": 0, "reasoning": 0, "tags": None, "metadata": {}},
    # opentelemetry-instrumentation-openai (OpenLLMetry): cache read and reasoning tokens too
    "openllmetry": {
        "model": DATED,
        "cache_read": CACHED_TOKENS,
        "reasoning": REASONING_TOKENS,
        "tags": None,
        "metadata": {},
    },
    # openinference-instrumentation-openai: every kind, the dated model
    "openinference": {
        "model": DATED,
        "cache_read": CACHED_TOKENS,
        "reasoning": REASONING_TOKENS,
        "tags": ["support", "eu"],
        "metadata": {"tier": "gold"},
    },
    # openinference-instrumentation-smolagents: the model as configured, prompt/completion only
    "smolagents": {
        "model": "gpt-4o-mini",
        "cache_read": 0,
        "reasoning": 0,
        "tags": ["support"],
        "metadata": {},
    },
}


def catalogue_cost(cache_read: int, reasoning: int) -> int:
    """One call's cost in micro-USD, straight from genai-prices for the dated model (rounded half up)."""
    price = genai_prices.calc_price(
        genai_prices.Usage(
            input_tokens=PROMPT_TOKENS,
            cache_read_tokens=cache_read,
            output_tokens=COMPLETION_TOKENS,
            output_reasoning_tokens=reasoning,
        ),
        model_ref=DATED,
        provider_id="openai",
    )
    return int((price.total_price * 1_000_000).to_integral_value(ROUND_HALF_UP))


@pytest.fixture(scope="module")
def provider():
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="module")
def anthropic_provider():
    with FakeAnthropic() as fake:
        yield fake


@pytest.fixture(scope="module")
def tenant(people) -> TenantKit:
    return make_tenant(people)


def run_library(library: str, provider, web_server: str, tenant: TenantKit, agent: str) -> list[dict]:
    """Run the instrumented program in its own process; the spans it exported."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.api.instrumented_agent", library, provider.base_url, web_server]
        + [tenant.token, agent],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def recorded_runs(tenant, agent: str, spans: list[dict]) -> tuple[list[dict], dict[str, dict], dict]:
    """The agent's three recorded runs (the bare call, the agent run, the refused call), by id, and
    the agent run: the execution of the root span of the trace that has more than one span."""
    status, body = tenant.get(f"/api/agents/{agent}/runs")
    assert status == 200, body
    runs = body["runs"]
    assert len(runs) == 3, runs
    by_id = {run["execution_id"]: run for run in runs}
    spans_per_trace = Counter(span["trace_id"] for span in spans)
    [root] = [span for span in spans if span["parent"] is None and spans_per_trace[span["trace_id"]] > 1]
    return runs, by_id, by_id[f"{root['trace_id']}-{root['span_id']}"]


@pytest.mark.parametrize("library", list(REPORTS))
def test_an_instrumented_agent_is_recorded_with_its_user_steps_token_kinds_and_exact_cost(
    library, provider, web_server, tenant
):
    report = REPORTS[library]
    agent = slug(library)
    spans = run_library(library, provider, web_server, tenant, agent)
    per_call = catalogue_cost(report["cache_read"], report["reasoning"])
    assert per_call > 0

    runs, by_id, run = recorded_runs(tenant, agent, spans)

    # The agent run: its agent span is the execution, its two model calls are its cost.
    assert (run["status"], run["user_id"]) == ("succeeded", USER)
    assert (run["tokens_in"], run["tokens_cache_read"]) == (2 * PROMPT_TOKENS, 2 * report["cache_read"])
    assert (run["tokens_out"], run["tokens_reasoning"]) == (2 * COMPLETION_TOKENS, 2 * report["reasoning"])
    assert run["cost_micro_usd"] == 2 * per_call
    view = queries.execution_steps(get_execution(STAFF_SCOPE, run["execution_id"], tenant.tenant_id))
    kinds = [step.span.kind for step in view.steps]
    assert kinds[0] == "agent" and kinds.count("model") == 2
    if library in ("openllmetry", "smolagents"):
        assert "tool" in kinds
    calls = [step.span for step in view.steps if step.span.kind == "model"]
    assert all(step.counted for step in view.steps if step.span.kind == "model")
    assert {(call.model, call.provider, int(call.cost_micro_usd)) for call in calls} == {
        (report["model"], "openai", per_call)
    }
    assert {call.price_source for call in calls} == {"catalogue"}
    assert view.steps[0].span.session_id == SESSION
    assert view.steps[0].span.tags == report["tags"]
    page = tenant.client.get(f"/analytics/executions/{run['execution_id']}/")
    assert page.status_code == 200 and f"session <code>{SESSION}</code>" in page.content.decode()
    # Issue #28: the session, environment, tags and metadata the library sent are the execution's.
    assert (run["session_id"], run["environment"]) == (SESSION, ENVIRONMENT)
    assert (run["tags"], run["metadata"]) == (report["tags"] or [], report["metadata"])
    status, body = tenant.get(f"/api/agents/{agent}/runs", session_id=SESSION, environment=ENVIRONMENT)
    assert status == 200 and [r["execution_id"] for r in body["runs"]] == [run["execution_id"]]

    # The bare call is an execution of its own; the refused one failed, with its failed step.
    others = [r for r in runs if r is not run]
    [bare] = [r for r in others if r["status"] == "succeeded"]
    [refused] = [r for r in others if r["status"] == "failed"]
    assert (bare["tokens_in"], bare["cost_micro_usd"]) == (PROMPT_TOKENS, per_call)
    assert refused["cost_micro_usd"] == 0 and refused["error"]
    assert "RateLimit" in refused["error"] or fake_openai.ERROR_MESSAGE in refused["error"]
    failed_view = queries.execution_steps(
        get_execution(STAFF_SCOPE, refused["execution_id"], tenant.tenant_id)
    )
    assert failed_view.failing_step is not None and failed_view.failing_step.span.kind == "model"

    # Nothing these libraries sent went unmapped.
    today = clock.now().date()
    unmapped = {entry.scope for entry in spans_not_understood(usage_rows(today, today))}
    assert not unmapped & {span["scope"] for span in spans}


# Anthropic: input_tokens leaves out the cached input. Both libraries send the total (uncached + cache read
# + cache write) as the input count, and both cache kinds apart.
ANTHROPIC_LIBRARIES = ["openllmetry-anthropic", "openinference-anthropic"]
ANTHROPIC_TAGS = {"openllmetry-anthropic": None, "openinference-anthropic": ["support"]}


def anthropic_catalogue_cost() -> int:
    """One Messages call's cost in micro-USD from genai-prices: its input_tokens is the TOTAL input."""
    price = genai_prices.calc_price(
        genai_prices.Usage(
            input_tokens=fake_anthropic.TOTAL_INPUT_TOKENS,
            cache_read_tokens=fake_anthropic.CACHE_READ_TOKENS,
            cache_write_tokens=fake_anthropic.CACHE_WRITE_TOKENS,
            output_tokens=fake_anthropic.OUTPUT_TOKENS,
        ),
        model_ref=fake_anthropic.DATED,
        provider_id="anthropic",
    )
    return int((price.total_price * 1_000_000).to_integral_value(ROUND_HALF_UP))


def tokens_of(row: dict) -> tuple[int, int, int, int, int]:
    return tuple(
        int(row[name])
        for name in ("tokens_in", "tokens_cache_read", "tokens_cache_write", "tokens_out", "tokens_reasoning")
    )


@pytest.mark.parametrize("library", ANTHROPIC_LIBRARIES)
def test_an_instrumented_anthropic_agent_is_recorded_with_cache_tokens_apart_and_exact_cost(
    library, anthropic_provider, web_server, tenant
):
    agent = slug(library)
    spans = run_library(library, anthropic_provider, web_server, tenant, agent)
    per_call = anthropic_catalogue_cost()
    assert per_call > 0
    one_call = (
        fake_anthropic.TOTAL_INPUT_TOKENS,
        fake_anthropic.CACHE_READ_TOKENS,
        fake_anthropic.CACHE_WRITE_TOKENS,
        fake_anthropic.OUTPUT_TOKENS,
        0,
    )

    runs, by_id, run = recorded_runs(tenant, agent, spans)

    assert (run["status"], run["user_id"]) == ("succeeded", USER)
    assert tokens_of(run) == tuple(2 * count for count in one_call)
    assert run["cost_micro_usd"] == 2 * per_call
    view = queries.execution_steps(get_execution(STAFF_SCOPE, run["execution_id"], tenant.tenant_id))
    kinds = [step.span.kind for step in view.steps]
    assert kinds[0] == "agent" and kinds.count("model") == 2
    calls = [step.span for step in view.steps if step.span.kind == "model"]
    assert all(step.counted for step in view.steps if step.span.kind == "model")
    assert {(call.model, call.provider, int(call.cost_micro_usd)) for call in calls} == {
        (fake_anthropic.DATED, "anthropic", per_call)
    }
    assert {call.price_source for call in calls} == {"catalogue"}
    assert view.steps[0].span.session_id == SESSION
    assert view.steps[0].span.tags == ANTHROPIC_TAGS[library]
    assert (run["session_id"], run["environment"], run["tags"]) == (
        SESSION,
        ENVIRONMENT,
        ANTHROPIC_TAGS[library] or [],
    )

    # The bare call is an execution of its own; the refused one (529) failed, with its failed step.
    others = [r for r in runs if r is not run]
    [bare] = [r for r in others if r["status"] == "succeeded"]
    [refused] = [r for r in others if r["status"] == "failed"]
    assert tokens_of(bare) == one_call and bare["cost_micro_usd"] == per_call
    assert refused["cost_micro_usd"] == 0 and refused["error"]
    assert "Overload" in refused["error"] or fake_anthropic.ERROR_MESSAGE in refused["error"]
    failed_view = queries.execution_steps(
        get_execution(STAFF_SCOPE, refused["execution_id"], tenant.tenant_id)
    )
    assert failed_view.failing_step is not None and failed_view.failing_step.span.kind == "model"

    today = clock.now().date()
    unmapped = {entry.scope for entry in spans_not_understood(usage_rows(today, today))}
    assert not unmapped & {span["scope"] for span in spans}
