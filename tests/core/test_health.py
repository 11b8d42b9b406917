import json

import pytest
from django.conf import settings
from django.test import Client

from dashboard.dynamo import base, local


@pytest.fixture
def dynamodb_down():
    """Point the models at a port where nothing listens, then put them back."""
    real = settings.DYNAMODB_ENDPOINT_URL
    settings.DYNAMODB_ENDPOINT_URL = f"http://127.0.0.1:{local.free_port()}"
    base.reconfigure()
    yield
    settings.DYNAMODB_ENDPOINT_URL = real
    base.reconfigure()


def test_healthz_answers_without_a_login(dynamodb_local):
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_makes_no_database_call_even_with_a_session_cookie(dynamodb_down):
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = "some-session-key"
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["X-DynamoDB-Calls"] == "0"


def test_readyz_is_ready_when_dynamodb_answers(dynamodb_local):
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["X-DynamoDB-Calls"] == "1"


def test_readyz_says_why_when_dynamodb_is_unreachable(dynamodb_down):
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "reason": "the database does not answer"}


def test_readyz_says_why_when_a_table_is_missing(dynamodb_local, settings):
    settings.DYNAMODB_TABLE_PREFIX = "no-such-prefix"
    base.reconfigure()
    try:
        response = Client().get("/readyz")
    finally:
        settings.DYNAMODB_TABLE_PREFIX = "test"
        base.reconfigure()
    assert response.status_code == 503
    assert "table is missing" in response.json()["reason"]


def test_readyz_leaks_no_configuration(dynamodb_down):
    body = Client().get("/readyz").content.decode()
    endpoint_port = settings.DYNAMODB_ENDPOINT_URL.rsplit(":", 1)[1]
    for secret in (endpoint_port, settings.DYNAMODB_TABLE_PREFIX, settings.DYNAMODB_REGION, "Traceback"):
        assert secret not in body
    assert set(json.loads(body)) == {"status", "reason"}


def test_health_paths_refuse_writes(dynamodb_local):
    assert Client().post("/healthz").status_code == 405


def test_probes_over_plain_http_are_not_redirected_to_https(dynamodb_local, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    client = Client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/login/").status_code == 301
