"""One log line per request, for an operator: what was asked, how it ended, what it cost.

The line carries method, path (never the query string: it may hold cursors or tokens), status,
duration, DynamoDB calls and consumed capacity, the trace id when traces are exported
(dashboard.core.tracing), and a request id (the caller's `X-Request-ID` or the AWS load balancer's
`X-Amzn-Trace-Id` when sane, a new one otherwise; echoed in the response).
Headers, cookies, session ids and bodies are never logged. Every other record logged while the request
runs (Django's error traceback included) carries the same request id, so one grep finds them all.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse

from dashboard.core import monitoring, tracing

log = logging.getLogger("dashboard.request")

REQUEST_ID_HEADER = "X-Request-ID"
# A caller-supplied id is kept only when it cannot forge log lines or fill the disk.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:;=/+-]{1,128}$")
_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def request_id_for(request: HttpRequest) -> str:
    # An AWS load balancer sets X-Amzn-Trace-Id, not X-Request-ID: either ties our line to its log.
    for header in (REQUEST_ID_HEADER, "X-Amzn-Trace-Id"):
        offered = request.headers.get(header, "")
        if _SAFE_REQUEST_ID.match(offered):
            return offered
    return uuid.uuid4().hex


class RequestLogMiddleware:
    """Outermost middleware: it times everything, redirects and error pages included."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_for(request)
        token = _request_id.set(request_id)
        request.request_id = request_id
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            self._log(request, response, request_id, (time.perf_counter() - started) * 1000)
        finally:
            _request_id.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response

    @staticmethod
    def _log(request: HttpRequest, response: HttpResponse, request_id: str, duration_ms: float) -> None:
        stats = getattr(request, "dynamo_stats", None)
        calls = stats.calls if stats else 0
        capacity = round(stats.capacity, 1) if stats else 0.0
        fields = {
            "request_id": request_id,
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round(duration_ms, 1),
            "dynamodb_calls": calls,
            "dynamodb_capacity": capacity,
        }
        monitoring.observe_request(request, response.status_code, duration_ms / 1000)
        trace_id = tracing.current_trace_id()
        if trace_id:
            fields["trace_id"] = trace_id  # the same request in the trace backend (OTLP export on)
        level = logging.ERROR if response.status_code >= 500 else logging.INFO
        log.log(
            level,
            "%s %s %s %.1fms dynamodb=%d calls/%.1f CU%s",
            request.method,
            request.path,
            response.status_code,
            duration_ms,
            calls,
            capacity,
            f" trace={trace_id}" if trace_id else "",
            extra={"http": fields},
        )


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record (`-` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line (LOG_FORMAT=json): what log shippers and CloudWatch Insights parse."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        request_fields = getattr(record, "http", None)
        if isinstance(request_fields, dict):
            entry.update(request_fields)
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)
