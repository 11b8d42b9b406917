"""Retention of inputs/outputs covers OTLP spans, exact on DynamoDB Local: a span's prompt goes with the
tenant's content retention while the span, its tokens and its cost stay; shortening the retention removes
stored spans' content through the resumable job, and every other tenant's spans stay byte for byte."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from dashboard.accounts import services as accounts
from dashboard.accounts.access import scope_for_user
from dashboard.accounts.queries import get_tenant
from dashboard.analytics import queries
from dashboard.analytics import services as analytics_services
from dashboard.analytics.models import Execution, TraceItem
from dashboard.analytics.queries.traces import read_trace
from dashboard.core import clock
from dashboard.dynamo.base import client_of
from dashboard.operations import retention
from tests.analytics.conftest import TenantKit, make_tenant

DAY = timedelta(days=1)
PROMPT, ANSWER = "my secret prompt", "the secret answer"
CALL_COST = 450  # gpt-4o-mini, 1000 tokens in and 500 out (pricing.py)
AGENT, CALL = 1, 2  # span ids


def attribute(key: str, value) -> dict:
    typed = {"intValue": str(value)} if isinstance(value, int) else {"stringValue": value}
    return {"key": key, "value": typed}


def trace_export(trace_id: str, started: datetime) -> bytes:
    """One agent run: an agent span holding the prompt and answer, and a priced model call below it."""
    start_ns = int(started.timestamp() * 1e9)

    def span(span_id: int, name: str, attributes: dict, parent: int | None = None) -> dict:
        return {
            "traceId": trace_id,
            "spanId": f"{span_id:016x}",
            **({"parentSpanId": f"{parent:016x}"} if parent else {}),
            "name": name,
            "startTimeUnixNano": str(start_ns + span_id * 1_000_000),
            "endTimeUnixNano": str(start_ns + 900_000_000),
            "attributes": [attribute(key, value) for key, value in attributes.items()],
        }

    spans = [
        span(
            AGENT,
            "invoke_agent retention-bot",
            {
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.id": "retention-bot",
                "input.value": PROMPT,
                "output.value": ANSWER,
            },
        ),
        span(
            CALL,
            "chat gpt-4o-mini",
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.usage.input_tokens": 1000,
                "gen_ai.usage.output_tokens": 500,
            },
            parent=AGENT,
        ),
    ]
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}).encode()


def send_trace(tenant: TenantKit, started: datetime) -> str:
    trace_id = f"{time.time_ns():032x}"[-32:]
    time.sleep(0.001)  # the next trace id differs
    response = Client().post(
        "/api/otel/v1/traces",
        data=trace_export(trace_id, started),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {tenant.token}",
    )
    assert response.status_code == 200, response.content
    assert not response.json().get("partialSuccess"), response.content
    return trace_id


def execution_id(trace_id: str) -> str:
    return f"{trace_id}-{AGENT:016x}"


def raw_trace(tenant_id: str, trace_id: str) -> dict[str, dict]:
    """The trace's items as the table holds them, by sort key (a consistent query, nothing hidden)."""
    answer = client_of(TraceItem).query(
        TableName=TraceItem.Meta.table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"{tenant_id}#{trace_id}"}},
        ConsistentRead=True,
    )
    return {item["sk"]["S"]: item for item in answer["Items"]}


def run_of(tenant: TenantKit, trace_id: str) -> dict:
    status, body = tenant.get("/api/agents/retention-bot/runs")
    assert status == 200, body
    [found] = [run for run in body["runs"] if run["execution_id"] == execution_id(trace_id)]
    return found


def steps_of(tenant: TenantKit, trace_id: str):
    """What the execution page's step view shows (queries.execution_steps)."""
    [execution] = [
        item for item in Execution.by_execution_id.query(f"{tenant.tenant_id}#{execution_id(trace_id)}")
    ]
    return queries.execution_steps(execution)


def test_a_span_with_30_days_content_retention_hides_its_prompt_after_day_30(people, monkeypatch):
    tenant = make_tenant(people)
    accounts.set_retention(scope_for_user(people["staff"]), tenant.tenant_id, 180, 30, 30)
    assert retention.run(tenant.tenant_id)["status"] == "done"  # its job: nothing stored yet (and none left)
    started = clock.now() - timedelta(hours=1)
    trace_id = send_trace(tenant, started)

    stored = raw_trace(tenant.tenant_id, trace_id)
    agent_item = stored[f"span#{AGENT:016x}"]
    agent_start = datetime.fromtimestamp(int(agent_item["start_ns"]["N"]) / 1e9, UTC)
    assert int(agent_item["content_expires_at"]["N"]) == int((agent_start + 30 * DAY).timestamp())
    assert int(agent_item["expires_at"]["N"]) == int((agent_start + 180 * DAY).timestamp())
    state = read_trace(tenant.tenant_id, trace_id, consistent=True)
    assert (state.spans[f"{AGENT:016x}"].input, state.spans[f"{AGENT:016x}"].output) == (PROMPT, ANSWER)
    assert json.loads(state.pinned[f"{AGENT:016x}"].run)["input"] == PROMPT
    assert run_of(tenant, trace_id)["input"] == PROMPT

    day_29 = clock.now() + 29 * DAY
    monkeypatch.setattr(clock, "now", lambda: day_29)
    assert read_trace(tenant.tenant_id, trace_id, consistent=True).spans[f"{AGENT:016x}"].input == PROMPT

    day_31 = agent_start + 31 * DAY
    monkeypatch.setattr(clock, "now", lambda: day_31)
    state = read_trace(tenant.tenant_id, trace_id, consistent=True)
    agent, call = state.spans[f"{AGENT:016x}"], state.spans[f"{CALL:016x}"]
    assert (agent.input, agent.output) == (None, None)
    assert json.loads(state.pinned[f"{AGENT:016x}"].run)["input"] == ""  # the pinned run's copy too
    # The span, its model call and their cost remain: only the content is gone.
    assert (agent.name, call.name, int(call.cost_micro_usd)) == (
        "invoke_agent retention-bot",
        "chat gpt-4o-mini",
        CALL_COST,
    )
    view = steps_of(tenant, trace_id)
    assert [step.span.name for step in view.steps] == ["invoke_agent retention-bot", "chat gpt-4o-mini"]
    assert view.cost_micro_usd == CALL_COST and all(step.span.input is None for step in view.steps)
    run = run_of(tenant, trace_id)
    assert (run["input"], run["output"], run["cost_micro_usd"]) == (None, None, CALL_COST)


def test_shortening_retention_removes_stored_spans_content_resumably_and_touches_no_other_tenant(
    people, monkeypatch
):
    tenant, other = make_tenant(people), make_tenant(people)
    now = clock.now()
    traces = {days: send_trace(tenant, now - days * DAY) for days in (10, 40, 100)}
    others = [send_trace(other, now - days * DAY) for days in (10, 40, 100)]
    other_before = {trace_id: raw_trace(other.tenant_id, trace_id) for trace_id in others}
    costs_before = {
        days: {sk: item.get("cost_micro_usd") for sk, item in raw_trace(tenant.tenant_id, trace_id).items()}
        for days, trace_id in traces.items()
    }

    accounts.set_retention(scope_for_user(people["staff"]), tenant.tenant_id, 60, 30, 7)
    # One execution (so one trace) a page; the worker stops on the second page, as a crash would.
    monkeypatch.setattr(analytics_services, "SPAN_RETENTION_PAGE", 1)
    real_page, pages = analytics_services.apply_span_retention_page, []

    def crashing_page(*args, **kwargs):
        pages.append(1)
        if len(pages) == 2:
            raise ConnectionError("the worker's host went away")
        return real_page(*args, **kwargs)

    monkeypatch.setattr(analytics_services, "apply_span_retention_page", crashing_page)
    with pytest.raises(ConnectionError):
        retention.run(tenant.tenant_id)
    job = get_tenant(tenant.tenant_id).retention_job
    assert (job["status"], job["phase"], job["spans_seen"]) == (
        "running",
        "spans",
        4,
    )  # one trace: 2 spans, pin, marker
    assert job["cursor"] is not None
    # The next worker takes the job on from its last recorded page.
    retention.run(tenant.tenant_id)
    done = get_tenant(tenant.tenant_id).retention_job
    assert (done["status"], done["phase"]) == ("done", "done")
    assert done["spans_content_removed"] == 2 * 2  # agent span and its pin, in the 40- and 100-day traces

    for days, trace_id in traces.items():
        items = raw_trace(tenant.tenant_id, trace_id)
        agent, pin = items[f"span#{AGENT:016x}"], items[f"exec#{AGENT:016x}"]
        start = datetime.fromtimestamp(int(agent["start_ns"]["N"]) / 1e9, UTC)
        assert int(agent["expires_at"]["N"]) == int((start + 60 * DAY).timestamp())
        assert int(agent["content_expires_at"]["N"]) == int((start + 30 * DAY).timestamp())
        kept = days < 30
        # Removed from the items themselves, not merely hidden on read.
        assert ("input" in agent, "output" in agent) == (kept, kept)
        assert json.loads(pin["run"]["S"])["input"] == (PROMPT if kept else "")
        # Tokens and cost stay on every item.
        assert {sk: item.get("cost_micro_usd") for sk, item in items.items()} == costs_before[days]
    # The other tenant's spans are byte for byte what they were.
    assert {trace_id: raw_trace(other.tenant_id, trace_id) for trace_id in others} == other_before
    assert read_trace(other.tenant_id, others[1], consistent=True).spans[f"{AGENT:016x}"].input == PROMPT
