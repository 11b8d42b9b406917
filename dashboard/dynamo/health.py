"""Health endpoints for a load balancer.

`/healthz`: the process runs and answers HTTP (no DynamoDB call: a slow database must not get
healthy web servers killed). `/readyz`: DynamoDB answers a cheap DescribeTable, so this server can
take traffic; 503 with a JSON reason when it cannot. Neither needs a login; neither names the
endpoint, region, table prefix or error text (an unauthenticated caller learns only "ready or not").
"""

from __future__ import annotations

import logging

from botocore.exceptions import BotoCoreError, ClientError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from pynamodb.exceptions import PynamoDBException

from dashboard.dynamo.base import MODELS
from dashboard.dynamo.middleware import unavailable_reason

log = logging.getLogger(__name__)

# Every page needs the session table, so it is the one whose answer says "ready".
READINESS_TABLE = "sessions"


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    model = next(m for m in MODELS if m.Meta.table_suffix == READINESS_TABLE)
    try:
        model.describe_table()
    except (PynamoDBException, BotoCoreError, ClientError) as exc:
        reason = unavailable_reason(exc) or "the database refused the readiness check"
        log.warning("Not ready: %s (%s)", reason, type(exc).__name__)
        return JsonResponse({"status": "unavailable", "reason": reason}, status=503)
    return JsonResponse({"status": "ok"})
