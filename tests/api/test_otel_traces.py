"""POST /api/otel/v1/traces: what the OpenTelemetry SDK's own exporter sends becomes executions and steps.

The spans are made by the real SDK (TracerProvider + InMemorySpanExporter) and sent by the real
OTLP/HTTP exporter to the live test server, so the same spans can be sent split, reordered or twice.
"""

from __future__ import annotations

import gzip
import json
import threading
import time

import pytest
import requests
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from dashboard.analytics import traces
from tests.analytics.conftest import TenantKit, make_tenant, recomputed_rollups, slug, stored_rollups
from tests.api.spans import COST, exporter, record_agent_run


@pytest.fixture
def tenant(people) -> TenantKit:
    return make_tenant(people)


def runs_of(tenant: TenantKit, agent: str) -> list[dict]:
    status, body = tenant.get(f"/api/agents/{agent}/runs")
    assert status == 200, body
    return body["runs"]


def overview(tenant: TenantKit) -> dict:
    status, body = tenant.get("/api/analytics/execution", period="7")
    assert status == 200
    return body["current"]


def assert_one_execution_counted_once(tenant: TenantKit, agent: str, spans: list) -> dict:
    [execution] = runs_of(tenant, agent)
    agent_span = next(span for span in spans if span.name.startswith("invoke_agent"))
    trace_id = format(agent_span.context.trace_id, "032x")
    assert execution["execution_id"] == f"{trace_id}-{agent_span.context.span_id:016x}"
    assert (execution["tokens_in"], execution["tokens_out"]) == (3_000, 800)
    assert execution["cost_micro_usd"] == COST
    current = overview(tenant)
    assert current["executions"] == 1 and current["cost_micro_usd"] == COST
    assert (current["tokens_in"], current["tokens_out"]) == (3_000, 800)
    assert stored_rollups(tenant.tenant_id) == recomputed_rollups(tenant.tenant_id)
    return execution


def test_an_exported_agent_trace_becomes_one_execution_priced_per_model_call(web_server, tenant):
    agent = slug("support")
    spans = record_agent_run(agent)
    assert exporter(web_server, tenant.token).export(spans) == SpanExportResult.SUCCESS
    execution = assert_one_execution_counted_once(tenant, agent, spans)
    assert execution["status"] == "succeeded"
    assert execution["user_id"] == "user-7"
    assert execution["model"] == "gpt-4o-mini"  # the agent span names none: its first model call's
    assert execution["duration_ms"] >= 0 and execution["finished_at"] >= execution["started_at"]


def test_the_three_environment_variables_of_the_readme_are_all_an_exporter_needs(
    web_server, tenant, monkeypatch
):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", web_server + "/api/otel")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", f"Authorization=Bearer%20{tenant.token}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    agent = slug("env")
    spans = record_agent_run(agent)
    assert OTLPSpanExporter().export(spans) == SpanExportResult.SUCCESS
    assert_one_execution_counted_once(tenant, agent, spans)


def test_a_trace_split_over_two_exports_in_either_order_and_sent_again_counts_once(web_server, tenant):
    first_agent, second_agent = slug("split"), slug("split")
    send = exporter(web_server, tenant.token)
    early = record_agent_run(first_agent)
    # the agent span first, its model calls after it was recorded
    assert (
        send.export([span for span in early if span.name.startswith("invoke_agent")])
        == SpanExportResult.SUCCESS
    )
    assert send.export([span for span in early if not span.name.startswith("invoke_agent")]) == (
        SpanExportResult.SUCCESS
    )
    late = record_agent_run(second_agent)
    assert send.export(late[:2]) == SpanExportResult.SUCCESS  # a model call and the tool
    assert send.export(late[2:]) == SpanExportResult.SUCCESS  # the other model call and the agent
    assert runs_of(tenant, first_agent)[0]["cost_micro_usd"] == COST
    assert runs_of(tenant, second_agent)[0]["cost_micro_usd"] == COST
    for spans in (early, late):
        assert send.export(spans) == SpanExportResult.SUCCESS  # a retry of everything
        assert send.export(list(reversed(spans))) == SpanExportResult.SUCCESS
    assert runs_of(tenant, first_agent)[0]["cost_micro_usd"] == COST
    assert runs_of(tenant, second_agent)[0]["cost_micro_usd"] == COST
    assert len(runs_of(tenant, first_agent)) == len(runs_of(tenant, second_agent)) == 1
    current = overview(tenant)
    assert current["executions"] == 2 and current["cost_micro_usd"] == 2 * COST
    assert stored_rollups(tenant.tenant_id) == recomputed_rollups(tenant.tenant_id)


def test_a_model_call_whose_parent_arrives_last_is_counted_when_the_chain_is_complete(web_server, tenant):
    captured = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "nested"}))
    provider.add_span_processor(SimpleSpanProcessor(captured))
    tracer = provider.get_tracer("nested")
    agent = slug("nested")
    call = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini"}
    call |= {"gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 500}
    with (
        tracer.start_as_current_span(
            "agent", attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.id": agent}
        ),
        tracer.start_as_current_span("plan", attributes={"gen_ai.operation.name": "execute_tool"}),
        tracer.start_as_current_span("chat", attributes=call),
    ):
        pass
    provider.shutdown()
    chat, plan, agent_span = captured.get_finished_spans()
    send = exporter(web_server, tenant.token)
    assert send.export([chat]) == SpanExportResult.SUCCESS
    assert tenant.get(f"/api/agents/{agent}/runs")[1]["runs"] == []  # no agent span yet: no execution
    assert send.export([agent_span]) == SpanExportResult.SUCCESS
    assert runs_of(tenant, agent)[0]["cost_micro_usd"] == 0  # the call's way up is not known yet
    assert send.export([plan]) == SpanExportResult.SUCCESS
    [execution] = runs_of(tenant, agent)
    assert (execution["cost_micro_usd"], execution["tokens_in"], execution["model"]) == (450, 1000, "unknown")
    assert stored_rollups(tenant.tenant_id) == recomputed_rollups(tenant.tenant_id)


def test_a_duplicate_export_shows_one_row_in_the_executions_list(web_server, tenant):
    agent = slug("dup")
    spans = record_agent_run(agent)
    send = exporter(web_server, tenant.token)
    assert send.export(spans) == SpanExportResult.SUCCESS
    assert send.export(spans) == SpanExportResult.SUCCESS
    page = tenant.client.get("/analytics/executions/", {"agent": agent})
    assert page.status_code == 200
    assert len(page.context["page"].items) == 1
    assert_one_execution_counted_once(tenant, agent, spans)


def test_halves_of_traces_sent_at_the_same_time_are_counted_once(web_server, tenant):
    agents = [slug("race") for _ in range(4)]
    traces = [record_agent_run(agent) for agent in agents]
    results: list = []

    def send(spans: list) -> None:
        results.append(exporter(web_server, tenant.token).export(spans))

    threads = []
    for spans in traces:
        for half in (spans[:2], spans[2:]):
            threads.append(threading.Thread(target=send, args=(half,)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert results == [SpanExportResult.SUCCESS] * len(threads)
    for agent in agents:
        [execution] = runs_of(tenant, agent)
        assert execution["cost_micro_usd"] == COST and execution["tokens_in"] == 3_000
    assert overview(tenant)["cost_micro_usd"] == len(agents) * COST
    assert stored_rollups(tenant.tenant_id) == recomputed_rollups(tenant.tenant_id)


def test_a_workflow_root_span_over_model_calls_is_the_execution_and_a_bare_call_is_one_too(
    web_server, tenant
):
    """OpenLLMetry's shape: a workflow span with no gen_ai.* attributes of its own, model calls below."""
    captured = InMemorySpanExporter()
    service = slug("summariser")
    provider = TracerProvider(resource=Resource.create({"service.name": service, "enduser.id": "ops"}))
    provider.add_span_processor(SimpleSpanProcessor(captured))
    tracer = provider.get_tracer("workflow")
    usage = {
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.usage.input_tokens": 400,
        "gen_ai.usage.output_tokens": 100,
    }
    with (
        tracer.start_as_current_span("summarise.workflow"),
        tracer.start_as_current_span("openai.chat", attributes={**usage, "gen_ai.system": "openai"}),
    ):
        pass
    with tracer.start_as_current_span("openai.chat", attributes=usage):  # no parent at all
        pass
    provider.shutdown()
    assert (
        exporter(web_server, tenant.token).export(captured.get_finished_spans()) == SpanExportResult.SUCCESS
    )
    executions = runs_of(tenant, service)
    assert len(executions) == 2
    # gpt-4o: 400 × 2.50 + 100 × 10.00 USD per million tokens = 2,000 µUSD each
    assert [(e["model"], e["user_id"], e["cost_micro_usd"]) for e in executions] == [
        ("gpt-4o", "ops", 2_000)
    ] * 2
    assert overview(tenant)["cost_micro_usd"] == 4_000


def test_a_trace_over_the_span_bound_keeps_the_first_spans_and_says_so(web_server, tenant, monkeypatch):
    monkeypatch.setattr(traces, "MAX_SPANS_PER_TRACE", 3)  # the live server runs in this process
    agent = slug("big")
    spans = record_agent_run(agent)
    response = requests.post(
        web_server + "/api/otel/v1/traces",
        data=encode_spans(spans).SerializePartialToString(),
        headers={"Content-Type": "application/x-protobuf", "Authorization": f"Bearer {tenant.token}"},
        timeout=30,
    )
    answer = trace_service_pb2.ExportTraceServiceResponse.FromString(response.content)
    assert response.status_code == 200 and answer.partial_success.rejected_spans == 1
    assert "at most 3 spans" in answer.partial_success.error_message


def test_a_failed_model_call_fails_the_execution_with_its_error(web_server, tenant):
    agent = slug("flaky")
    spans = record_agent_run(agent, fail=True)
    assert exporter(web_server, tenant.token).export(spans) == SpanExportResult.SUCCESS
    [execution] = runs_of(tenant, agent)
    assert execution["status"] == "failed"
    assert "rate limited by the model provider" in execution["error"]
    assert execution["cost_micro_usd"] == COST  # the failed call reported its usage: it is billed
    assert overview(tenant)["failures"] == 1


def test_gzip_compressed_exports_are_accepted(web_server, tenant):
    agent = slug("gzip")
    spans = record_agent_run(agent)
    assert exporter(web_server, tenant.token, compression=Compression.Gzip).export(spans) == (
        SpanExportResult.SUCCESS
    )
    assert_one_execution_counted_once(tenant, agent, spans)


def test_another_tenants_key_records_the_same_trace_apart(web_server, tenant, people):
    other = make_tenant(people)
    agent = slug("shared")
    spans = record_agent_run(agent)
    assert exporter(web_server, tenant.token).export(spans) == SpanExportResult.SUCCESS
    assert exporter(web_server, other.token).export(spans) == SpanExportResult.SUCCESS
    assert_one_execution_counted_once(tenant, agent, spans)  # the other key's export changed nothing
    status, body = other.get(f"/api/agents/{agent}/runs")
    # Agents belong to their tenant: the other key's export is that tenant's own execution, counted once.
    assert status == 200 and [run["cost_micro_usd"] for run in body["runs"]] == [COST]
    assert overview(other)["cost_micro_usd"] == COST


# --- OTLP/JSON, built as the specification writes it ----------------------------------------------


def _attr(key: str, value) -> dict:
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value}}


def json_trace(agent: str, trace_id: str, *, extra_spans: list | None = None) -> dict:
    now = time.time_ns()
    agent_span = {
        "traceId": trace_id,
        "spanId": "a1a1a1a1a1a1a1a1",
        "name": "invoke_agent planner",
        "kind": 1,  # SPAN_KIND_INTERNAL: enums are integers in OTLP/JSON
        "startTimeUnixNano": str(now - 3_000_000_000),
        "endTimeUnixNano": str(now),
        "attributes": [
            _attr("gen_ai.operation.name", "invoke_agent"),
            _attr("gen_ai.agent.id", agent),
            _attr("enduser.id", "json-user"),
            _attr("gen_ai.request.model", "claude-3-5-haiku"),
        ],
        "status": {"code": 1},
    }
    model_call = {
        "traceId": trace_id,
        "spanId": "b2b2b2b2b2b2b2b2",
        "parentSpanId": "a1a1a1a1a1a1a1a1",
        "name": "chat claude-3-5-haiku",
        "kind": 3,
        "startTimeUnixNano": str(now - 2_500_000_000),
        "endTimeUnixNano": str(now - 1_000_000_000),
        "attributes": [
            _attr("gen_ai.operation.name", "chat"),
            _attr("gen_ai.request.model", "claude-3-5-haiku"),
            _attr("gen_ai.usage.input_tokens", 10_000),
            _attr("gen_ai.usage.output_tokens", 1_000),
        ],
    }
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [_attr("service.name", "json-service")]},
                "scopeSpans": [
                    {"scope": {"name": "hand.made"}, "spans": [model_call, agent_span, *(extra_spans or [])]}
                ],
            }
        ]
    }


def post(web_server: str, token: str | None, body: bytes, content_type: str, **headers) -> requests.Response:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.post(
        web_server + "/api/otel/v1/traces",
        data=body,
        headers={"Content-Type": content_type, **headers},
        timeout=30,
    )


def test_otlp_json_is_accepted_and_answered_in_json_with_partial_success(web_server, tenant):
    agent = slug("json")
    trace_id = "5b8efff798038103d269b633813fc60c"
    broken = {"traceId": trace_id, "spanId": "0000000000000000", "name": "no id", "startTimeUnixNano": "1"}
    body = json.dumps(json_trace(agent, trace_id, extra_spans=[broken])).encode()
    response = post(web_server, tenant.token, body, "application/json")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "1"  # int64 is a string in protobuf's JSON mapping
    assert "span id" in partial["errorMessage"]
    [execution] = runs_of(tenant, agent)
    assert execution["execution_id"] == f"{trace_id}-a1a1a1a1a1a1a1a1"
    assert execution["model"] == "claude-3-5-haiku" and execution["user_id"] == "json-user"
    # 10,000 × 0.80 + 1,000 × 4.00 USD per million tokens
    assert execution["cost_micro_usd"] == 12_000 and execution["duration_ms"] == 3_000


def test_gzip_json_is_accepted(web_server, tenant):
    agent = slug("jsongz")
    body = gzip.compress(json.dumps(json_trace(agent, "0af7651916cd43dd8448eb211c80319c")).encode())
    response = post(web_server, tenant.token, body, "application/json", **{"Content-Encoding": "gzip"})
    assert response.status_code == 200 and response.json() == {}
    assert runs_of(tenant, agent)[0]["tokens_in"] == 10_000


def test_a_protobuf_export_is_answered_in_protobuf(web_server, tenant):
    request = trace_service_pb2.ExportTraceServiceRequest()
    response = post(web_server, tenant.token, request.SerializeToString(), "application/x-protobuf")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/x-protobuf"
    answer = trace_service_pb2.ExportTraceServiceResponse.FromString(response.content)
    assert answer.partial_success.rejected_spans == 0


def test_other_content_types_get_415(web_server, tenant):
    response = post(web_server, tenant.token, b"spans", "text/plain")
    assert response.status_code == 415
    assert "application/x-protobuf" in response.json()["message"]
    response = post(web_server, tenant.token, b"{}", "application/json", **{"Content-Encoding": "br"})
    assert response.status_code == 415


def test_undecodable_bodies_get_400_in_the_clients_encoding(web_server, tenant):
    response = post(web_server, tenant.token, b"\xff\xff\xff not protobuf", "application/x-protobuf")
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/x-protobuf"
    assert b"not a valid protobuf" in response.content
    for body in (
        b"{not json",
        b"[1, 2]",
        json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}).encode(),
    ):
        response = post(web_server, tenant.token, body, "application/json")
        assert response.status_code == 400, body
        assert response.json()["code"] == 3 and response.json()["message"]
    response = post(web_server, tenant.token, b"not gzip", "application/json", **{"Content-Encoding": "gzip"})
    assert response.status_code == 400 and "gzip" in response.json()["message"]


def test_a_missing_or_wrong_key_gets_401_and_the_exporter_reports_failure(web_server, tenant):
    assert post(web_server, None, b"{}", "application/json").status_code == 401
    response = post(web_server, "dk.nope.nope", b"{}", "application/json")
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    agent = slug("nokey")
    assert exporter(web_server, "dk.nope.nope").export(record_agent_run(agent)) == SpanExportResult.FAILURE
    assert tenant.get(f"/api/agents/{agent}/runs")[1]["runs"] == []


def test_a_body_over_the_bound_gets_413(web_server, tenant, settings):
    settings.OTLP_MAX_BODY_BYTES = 1_000
    response = post(web_server, tenant.token, b"{" + b" " * 2_000 + b"}", "application/json")
    assert response.status_code == 413
    bomb = gzip.compress(b"{" + b" " * 50_000 + b"}")
    assert len(bomb) < 1_000
    response = post(web_server, tenant.token, bomb, "application/json", **{"Content-Encoding": "gzip"})
    assert response.status_code == 413 and "unpacked" in response.json()["message"]


def test_only_post_is_answered(web_server, tenant):
    response = requests.get(web_server + "/api/otel/v1/traces", timeout=30)
    assert response.status_code == 405 and response.headers["Allow"] == "POST"
