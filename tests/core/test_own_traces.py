"""The dashboard's own traces: its requests and their DynamoDB calls, received over OTLP/HTTP.

The server runs as gunicorn in a subprocess (the instrumentation must be in place before Django builds
its middleware chain) with OTEL_EXPORTER_OTLP_ENDPOINT pointing at a tiny HTTP server of this test,
which decodes each protobuf ExportTraceServiceRequest it receives.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from dashboard.core import tracing
from tests.core.test_production_browser import start_gunicorn, stop

SERVER, CLIENT = 2, 3  # Span.SpanKind


class Receiver(BaseHTTPRequestHandler):
    received: queue.Queue

    def do_POST(self) -> None:  # noqa: N802 — http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        export = ExportTraceServiceRequest.FromString(body)
        for resource_spans in export.resource_spans:
            service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}[
                "service.name"
            ]
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.received.put((service, self.path, span))
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def receiver():
    received: queue.Queue = queue.Queue()
    handler = type("Handler", (Receiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()


def attributes(span) -> dict:
    return {a.key: a.value.string_value or a.value.int_value for a in span.attributes}


def spans_until(received: queue.Queue, done, timeout: float = 30) -> list:
    spans: list = []
    deadline = time.monotonic() + timeout
    while not done(spans) and time.monotonic() < deadline:
        try:
            spans.append(received.get(timeout=0.5))
        except queue.Empty:
            continue
    return spans


def test_a_request_and_its_dynamodb_calls_arrive_as_one_trace_named_in_the_log(
    dynamodb_local, tmp_path, receiver
):
    endpoint, received = receiver
    process, base_url, log = start_gunicorn(
        dynamodb_local,
        tmp_path,
        OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
        OTEL_SERVICE_NAME="dashboard-under-test",
        OTEL_BSP_SCHEDULE_DELAY="100",
        LOG_REQUESTS="true",
    )
    try:
        with urllib.request.urlopen(f"{base_url}/readyz", timeout=10) as response:
            assert response.status == 200

        def has_ready(spans):
            return any(s.kind == SERVER and attributes(s).get("http.route") == "readyz" for _, _, s in spans)

        spans = spans_until(received, has_ready)
    finally:
        stop(process)
    assert spans, "no span reached the receiver"
    assert {(service, path) for service, path, _ in spans} == {("dashboard-under-test", "/v1/traces")}
    [server] = [s for _, _, s in spans if s.kind == SERVER and attributes(s).get("http.route") == "readyz"]
    # The DynamoDB call the probe makes is a client span of the same trace, below the request.
    dynamodb = [
        s
        for _, _, s in spans
        if s.kind == CLIENT
        and attributes(s).get("rpc.service") == "DynamoDB"
        and s.trace_id == server.trace_id
    ]
    assert [attributes(s)["rpc.method"] for s in dynamodb] == ["DescribeTable"]
    assert dynamodb[0].parent_span_id == server.span_id
    # The probes gunicorn's start-up made to /healthz are not traced (excluded: they would drown the rest).
    assert not any(attributes(s).get("http.route") == "healthz" for _, _, s in spans)
    # The request log line names the same trace.
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    [ready_line] = [line for line in lines if line.get("path") == "/readyz"]
    assert ready_line["trace_id"] == server.trace_id.hex()


def test_tracing_is_off_without_an_endpoint(monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    assert tracing.configure() is False
    assert tracing.current_trace_id() is None
    assert not any("opentelemetry" in name for name in settings.MIDDLEWARE)
