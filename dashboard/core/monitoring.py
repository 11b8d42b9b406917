"""Prometheus metrics of the dashboard itself, served at `/metrics` (the official `prometheus-client`).

What a monitoring system scrapes: requests by route (the URL pattern's name, never the raw path, so the
number of series stays bounded whatever ids appear in URLs) and status, with latency histograms;
DynamoDB calls, consumed units, errors and throttles by table and operation (fed by the botocore hooks
in dashboard/dynamo/metrics.py); ingestion through the API (executions, spans, log lines, rejects); alert
deliveries by channel and outcome.

Under gunicorn every worker is its own process: gunicorn.conf.py sets PROMETHEUS_MULTIPROC_DIR before
the workers start, each worker writes its values to files there, a scrape sums them all
(`MultiProcessCollector`) and the master removes a dead worker's live gauges. Without that variable
(`runserver`, the tests) the process's own registry answers.

`METRICS_TOKEN` set: a scrape must send `Authorization: Bearer <token>` (401 otherwise; compared in
constant time). Unset: anyone who reaches the port may scrape (put the port behind the private network).
"""

from __future__ import annotations

import hmac
import os

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

# Latency buckets for pages and API calls (seconds): most answer in tens of milliseconds.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
DYNAMODB_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0)

REQUESTS = Counter(
    "dashboard_http_requests",
    "HTTP requests answered, by route (URL pattern name), method and status.",
    ["route", "method", "status"],
)
REQUEST_LATENCY = Histogram(
    "dashboard_http_request_duration_seconds",
    "Time to answer an HTTP request, by route and method.",
    ["route", "method"],
    buckets=REQUEST_BUCKETS,
)
DYNAMODB_CALLS = Counter(
    "dashboard_dynamodb_calls", "DynamoDB API calls, by table and operation.", ["table", "operation"]
)
DYNAMODB_UNITS = Counter(
    "dashboard_dynamodb_consumed_units",
    "DynamoDB capacity units consumed (table and its indexes), by table, operation and kind (read/write).",
    ["table", "operation", "kind"],
)
DYNAMODB_ERRORS = Counter(
    "dashboard_dynamodb_errors",
    "DynamoDB calls answered with an error, by table, operation and error code "
    "(conditional-check failures included: they are how races are refused).",
    ["table", "operation", "code"],
)
DYNAMODB_THROTTLES = Counter(
    "dashboard_dynamodb_throttles",
    "DynamoDB calls throttled, by table and operation.",
    ["table", "operation"],
)
DYNAMODB_LATENCY = Histogram(
    "dashboard_dynamodb_call_duration_seconds",
    "Time of one DynamoDB call (botocore retries included), by operation.",
    ["operation"],
    buckets=DYNAMODB_BUCKETS,
)
INGESTED = Counter(
    "dashboard_ingested_items",
    "Items machines sent that were stored, by kind (executions, spans, log_lines, log_records).",
    ["kind"],
)
INGEST_DUPLICATES = Counter(
    "dashboard_ingest_duplicates",
    "Items sent again and counted once (idempotent ingestion), by kind.",
    ["kind"],
)
INGEST_REJECTED = Counter(
    "dashboard_ingest_rejected",
    "Ingestion refused: whole requests answered 4xx (unit `requests`) or items an OTLP export did not "
    "keep (unit `items`), by kind.",
    ["kind", "unit"],
)
ALERT_DELIVERIES = Counter(
    "dashboard_alert_deliveries",
    "Alert delivery attempts, by channel (notification, webhook, email) and outcome.",
    ["channel", "outcome"],
)

UNMATCHED_ROUTE = "unmatched"  # a path no URL pattern matched (404s of unknown paths): one series


def route_of(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    return (match.view_name if match is not None else None) or UNMATCHED_ROUTE


def observe_request(request: HttpRequest, status: int, seconds: float) -> None:
    route = route_of(request)
    method = request.method if request.method in KNOWN_METHODS else "other"
    REQUESTS.labels(route, method, str(status)).inc()
    REQUEST_LATENCY.labels(route, method).observe(seconds)


KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def registry() -> CollectorRegistry:
    """The values to expose: every worker's (multiprocess mode) or this process's own."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        collected = CollectorRegistry()
        multiprocess.MultiProcessCollector(collected)
        return collected
    return REGISTRY


def authorized(request: HttpRequest) -> bool:
    token = getattr(settings, "METRICS_TOKEN", "")
    if not token:
        return True
    offered = request.headers.get("Authorization", "")
    scheme, _, value = offered.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())


@never_cache
@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    """`/metrics`: the Prometheus text format. No DynamoDB call (a scrape never loads the database)."""
    if not authorized(request):
        response = HttpResponse("A bearer token is needed to read the metrics.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        response["Content-Type"] = "text/plain; charset=utf-8"
        return response
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
