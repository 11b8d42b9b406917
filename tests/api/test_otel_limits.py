"""OTLP receivers under abuse: deep bodies, oversized exports, work-priced rate limits, NUL, expired keys."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.test import Client
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2

from dashboard.analytics import traces
from dashboard.analytics.models import TraceItem
from dashboard.apikeys.services import create_key
from dashboard.core import clock
from tests.analytics.conftest import STAFF_SCOPE, TenantKit, make_tenant, slug

ENDPOINTS = ("/api/otel/v1/traces", "/api/otel/v1/logs")


@pytest.fixture
def tenant(people) -> TenantKit:
    return make_tenant(people)


def post(path: str, token: str, body: bytes, content_type: str = "application/json"):
    return Client().post(path, data=body, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {token}")


def span(
    trace_id: str, span_id: int, *, name: str = "step", agent: str | None = None, parent: int | None = None
):
    now = time.time_ns()
    attributes = []
    if agent:
        attributes = [
            {"key": "gen_ai.operation.name", "value": {"stringValue": "invoke_agent"}},
            {"key": "gen_ai.agent.id", "value": {"stringValue": agent}},
        ]
    return {
        "traceId": trace_id,
        "spanId": f"{span_id:016x}",
        **({"parentSpanId": f"{parent:016x}"} if parent else {}),
        "name": name,
        "startTimeUnixNano": str(now - 2_000_000_000),
        "endTimeUnixNano": str(now - 1_000_000_000),
        "attributes": attributes,
    }


def export(spans: list[dict]) -> bytes:
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}).encode()


def trace_id() -> str:
    return slug("t").encode().hex()[:32].ljust(32, "1")


def partial(response) -> dict:
    assert response.status_code == 200, response.content
    return response.json().get("partialSuccess", {})


# --- nesting ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_deeply_nested_json_body_gets_400_not_500(tenant, path):
    body = b'{"resourceSpans":' + b"[" * 1000  # about 1 KB
    response = post(path, tenant.token, body)
    assert response.status_code == 400
    assert "nests deeper" in response.json()["message"]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_deeply_nested_protobuf_attribute_values_get_400(tenant, path):
    value = common_pb2.AnyValue(string_value="bottom")
    for _ in range(40):
        value = common_pb2.AnyValue(array_value=common_pb2.ArrayValue(values=[value]))
    attribute = common_pb2.KeyValue(key="deep", value=value)
    if path.endswith("traces"):
        message = trace_service_pb2.ExportTraceServiceRequest()
        item = message.resource_spans.add().scope_spans.add().spans.add()
        item.trace_id, item.span_id, item.name = bytes(range(1, 17)), bytes(range(1, 9)), "deep"
        item.start_time_unix_nano = item.end_time_unix_nano = time.time_ns()
    else:
        message = logs_service_pb2.ExportLogsServiceRequest()
        item = message.resource_logs.add().scope_logs.add().log_records.add()
        item.time_unix_nano = time.time_ns()
    item.attributes.append(attribute)
    response = post(path, tenant.token, message.SerializeToString(), "application/x-protobuf")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/x-protobuf"


# --- work per export ----------------------------------------------------------------------------


def test_traces_over_the_export_limit_are_rejected_with_the_reason(tenant, monkeypatch):
    monkeypatch.setattr(traces, "MAX_TRACES_PER_EXPORT", 2)
    spans = [span(trace_id(), 1) for _ in range(3)]
    answer = partial(post(ENDPOINTS[0], tenant.token, export(spans)))
    assert int(answer["rejectedSpans"]) == 1
    assert "at most 2 traces" in answer["errorMessage"]


def test_agent_spans_over_the_export_limit_are_rejected_with_the_reason(tenant, monkeypatch):
    monkeypatch.setattr(traces, "MAX_AGENT_SPANS_PER_EXPORT", 2)
    spans = [span(trace_id(), 1, agent=slug("agent")) for _ in range(3)]
    answer = partial(post(ENDPOINTS[0], tenant.token, export(spans)))
    assert int(answer["rejectedSpans"]) == 1
    assert "at most 2 agent spans" in answer["errorMessage"]


def test_spans_over_the_export_limit_are_rejected_with_the_reason(tenant, monkeypatch):
    monkeypatch.setattr(traces, "MAX_SPANS_PER_EXPORT", 3)
    first, second = trace_id(), trace_id()
    spans = [span(first, 1), span(first, 2, parent=1), span(second, 1), span(second, 2, parent=1)]
    answer = partial(post(ENDPOINTS[0], tenant.token, export(spans)))
    assert int(answer["rejectedSpans"]) == 2  # the whole second trace: traces are never cut
    assert "at most 3 spans" in answer["errorMessage"]


def test_an_absurdly_large_export_gets_413(tenant, settings):
    settings.OTLP_REFUSE_ITEMS_PER_EXPORT = 5
    spans = [span(trace_id(), index + 1) for index in range(6)]
    response = post(ENDPOINTS[0], tenant.token, export(spans))
    assert response.status_code == 413
    assert "send smaller batches" in response.json()["message"]


def test_a_large_export_costs_more_tokens_than_a_small_one(tenant, settings):
    settings.API_RATE_LIMIT_PER_MINUTE, settings.API_RATE_LIMIT_BURST = 1, 99  # 100 tokens, 1 a minute
    settings.OTLP_ITEMS_PER_TOKEN = 10
    small = post(ENDPOINTS[0], tenant.token, export([span(trace_id(), 1)]))
    assert small.status_code == 200 and small["X-RateLimit-Remaining"] == "99"
    big_trace = trace_id()
    spans = [span(big_trace, 1)] + [span(big_trace, index, parent=1) for index in range(2, 201)]
    big = post(ENDPOINTS[0], tenant.token, export(spans))
    assert big.status_code == 200
    assert big["X-RateLimit-Remaining"] == "79"  # 200 spans: 20 tokens
    many_traces = [span(trace_id(), 1) for _ in range(30)]
    assert post(ENDPOINTS[0], tenant.token, export(many_traces))["X-RateLimit-Remaining"] == "49"


def test_an_export_costing_more_than_is_left_gets_429(tenant, settings):
    settings.API_RATE_LIMIT_PER_MINUTE, settings.API_RATE_LIMIT_BURST = 1, 9  # 10 tokens
    settings.OTLP_ITEMS_PER_TOKEN = 1
    spans = [span(trace_id(), 1) for _ in range(15)]
    response = post(ENDPOINTS[0], tenant.token, export(spans))
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    assert "costs" in response.json()["message"]


# --- text and keys ------------------------------------------------------------------------------


def test_nul_is_removed_from_span_names(tenant):
    trace = trace_id()
    assert partial(post(ENDPOINTS[0], tenant.token, export([span(trace, 1, name="bad\u0000name")]))) == {}
    [item] = TraceItem.query(f"{tenant.tenant_id}#{trace}")
    assert item.name == "badname"


def test_an_expired_key_is_told_in_protobuf_on_a_protobuf_request(tenant, monkeypatch):
    token = create_key(STAFF_SCOPE, tenant.tenant_id, "old", expires_on=clock.now().date()).token
    later = clock.now() + timedelta(days=2)
    monkeypatch.setattr(clock, "now", lambda: later)
    message = trace_service_pb2.ExportTraceServiceRequest()
    message.resource_spans.add().schema_url = "x"  # a body: the test client drops an empty one's type
    body = message.SerializeToString()
    response = post(ENDPOINTS[0], token, body, "application/x-protobuf")
    assert response.status_code == 401, response.content
    assert response["Content-Type"] == "application/x-protobuf"
    assert response.content.startswith(b"\x08\x10") and b"expired" in response.content


def test_nul_is_removed_from_log_messages(tenant):
    from tests.api.test_otel_logs import experiment_of, json_logs, record, run_lines

    experiment, run = experiment_of(tenant.tenant_id)
    payload = json_logs(experiment.experiment_id, run.run_id, [record("epoch\u0000 1", run.run_id)])
    assert partial(post(ENDPOINTS[1], tenant.token, json.dumps(payload).encode())) == {}
    assert [line["message"] for line in run_lines(tenant, run)] == ["epoch 1"]


def test_log_records_over_the_export_limit_are_rejected_with_the_reason(tenant, monkeypatch):
    from dashboard.experiments import log_records
    from tests.api.test_otel_logs import experiment_of, json_logs, record, run_lines

    monkeypatch.setattr(log_records, "MAX_RECORDS_PER_EXPORT", 2)
    experiment, run = experiment_of(tenant.tenant_id)
    records = [record(f"line {n}", run.run_id, offset_ms=n) for n in range(3)]
    answer = partial(
        post(
            ENDPOINTS[1],
            tenant.token,
            json.dumps(json_logs(experiment.experiment_id, run.run_id, records)).encode(),
        )
    )
    assert int(answer["rejectedLogRecords"]) == 1
    assert "at most 2 log records" in answer["errorMessage"]
    assert len(run_lines(tenant, run)) == 2
