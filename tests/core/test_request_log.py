import json
import logging

import pytest
from django.conf import settings
from django.test import Client
from django.urls import path

from dashboard.core.request_log import JsonFormatter
from dashboard.urls import urlpatterns


def broken_view(request):
    raise RuntimeError("the view broke")


urlpatterns = [*urlpatterns, path("test-broken/", broken_view)]


@pytest.fixture
def request_lines(caplog):
    caplog.set_level(logging.INFO, logger="dashboard.request")

    def lines():
        return [r for r in caplog.records if r.name == "dashboard.request"]

    return lines


def test_each_request_logs_one_line_with_status_duration_and_dynamodb_cost(acme_admin, request_lines):
    response = acme_admin.get("/templates/")
    assert response.status_code == 200
    [record] = request_lines()
    fields = record.http
    assert (fields["method"], fields["path"], fields["status"]) == ("GET", "/templates/", 200)
    assert fields["duration_ms"] > 0
    assert fields["dynamodb_calls"] >= 1  # the session, the user, the templates
    assert fields["dynamodb_capacity"] > 0
    assert fields["request_id"] == response["X-Request-ID"]


def test_a_request_id_from_the_load_balancer_is_kept_and_echoed(dynamodb_local, request_lines):
    response = Client().get("/healthz", headers={"X-Request-ID": "Root=1-67891233-abcdef012345678912345678"})
    assert response["X-Request-ID"] == "Root=1-67891233-abcdef012345678912345678"
    assert request_lines()[0].http["request_id"] == "Root=1-67891233-abcdef012345678912345678"


def test_a_request_id_that_could_forge_log_lines_is_replaced(dynamodb_local, request_lines):
    response = Client().get("/healthz", headers={"X-Request-ID": "x\nGET /admin 200"})
    assert "\n" not in response["X-Request-ID"]
    assert len(response["X-Request-ID"]) == 32


def test_no_query_string_session_id_or_authorization_reaches_the_log(people, request_lines):
    from tests.conftest import session_for

    session_key = session_for(people["admin of acme"])
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = session_key
    client.get("/templates/?cursor=secret-cursor-token&q=x")
    Client().get("/api/me", headers={"Authorization": "Bearer dk_live_supersecretkey"})
    rendered = [JsonFormatter().format(record) for record in request_lines()]
    assert len(rendered) == 2
    text = "\n".join(rendered)
    for secret in (session_key, "secret-cursor-token", "dk_live_supersecretkey", "Bearer"):
        assert secret not in text
    assert json.loads(rendered[0])["path"] == "/templates/"
    assert json.loads(rendered[1])["status"] == 401


@pytest.mark.urls(__name__)
def test_an_error_is_logged_with_its_traceback_and_the_request_id(dynamodb_local, caplog):
    caplog.set_level(logging.INFO)
    response = Client(raise_request_exception=False).get("/test-broken/")
    assert response.status_code == 500
    request_id = response["X-Request-ID"]
    [error] = [r for r in caplog.records if r.name == "django.request"]
    entry = json.loads(JsonFormatter().format(error))
    assert entry["request_id"] == request_id
    assert "RuntimeError: the view broke" in entry["traceback"]
    [line] = [r for r in caplog.records if r.name == "dashboard.request"]
    assert line.levelname == "ERROR" and line.http["status"] == 500


def test_json_lines_are_one_object_per_line(dynamodb_local, request_lines):
    Client().get("/healthz")
    rendered = JsonFormatter().format(request_lines()[0])
    assert "\n" not in rendered
    entry = json.loads(rendered)
    assert {
        "time",
        "level",
        "method",
        "path",
        "status",
        "duration_ms",
        "dynamodb_calls",
        "request_id",
    } <= set(entry)


def test_text_lines_carry_the_request_id_too(dynamodb_local, request_lines):
    import io

    from dashboard.core.request_log import RequestIdFilter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(logging.Formatter(settings.LOGGING["formatters"]["text"]["format"]))
    logger = logging.getLogger("dashboard.request")
    logger.addHandler(handler)
    try:
        response = Client().get("/healthz")
    finally:
        logger.removeHandler(handler)
    assert f"[{response['X-Request-ID']}] GET /healthz 200" in stream.getvalue()
