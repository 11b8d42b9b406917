"""Traces of the dashboard itself (OpenTelemetry): its requests and the DynamoDB calls each one makes.

On only when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set: then every
request becomes a server span (`opentelemetry-instrumentation-django`) with a client span per DynamoDB call
below it (`opentelemetry-instrumentation-botocore`), exported in batches over OTLP/HTTP (protobuf) to the
collector. The standard `OTEL_*` variables apply (`OTEL_SERVICE_NAME`, `OTEL_EXPORTER_OTLP_HEADERS`,
`OTEL_TRACES_SAMPLER`, `OTEL_BSP_SCHEDULE_DELAY`, …). Unset: nothing of the SDK is imported and nothing is
patched, so tracing costs nothing.

Called from `CoreConfig.ready()`: after settings load and before the WSGI handler builds its middleware
chain, which is when the Django instrumentation must add its middleware. Under gunicorn the application
loads in each worker after the fork, so every worker gets its own exporter thread.
"""

from __future__ import annotations

import os

DEFAULT_SERVICE_NAME = "diatonic-dashboard"
EXCLUDED_URLS = "://[^/]+/healthz$,://[^/]+/metrics$"
_configured = False


def enabled() -> bool:
    return bool(os.getenv("OTEL_EXPORTER_OTLP_ENDPOINT") or os.getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def configure() -> bool:
    """Set up tracing once per process when an OTLP endpoint is configured; True when tracing is on."""
    global _configured
    if _configured or not enabled():
        return _configured
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({SERVICE_NAME: os.getenv("OTEL_SERVICE_NAME") or DEFAULT_SERVICE_NAME})
    provider = TracerProvider(resource=resource)
    # The exporter reads the endpoint, headers, timeout and compression from the OTEL_* variables.
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    # Health probes and scrapes every few seconds would drown the useful traces (regular expressions
    # searched in the absolute URL; an API path ending in /metrics is still traced).
    DjangoInstrumentor().instrument(
        excluded_urls=os.getenv("OTEL_PYTHON_DJANGO_EXCLUDED_URLS") or EXCLUDED_URLS
    )
    BotocoreInstrumentor().instrument()
    _configured = True
    return True


def current_trace_id() -> str | None:
    """The trace id of the span being recorded (32 hex digits), or None when tracing is off."""
    if not _configured:
        return None
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return f"{context.trace_id:032x}" if context.is_valid else None
