"""Fixtures for the edge-of-the-app tests: an API client with a key of acme."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from dashboard.accounts.access import scope_for_user
from dashboard.apikeys import services as api_keys


@pytest.fixture
def acme_key(people) -> str:
    return api_keys.create_key(scope_for_user(people["staff"]), "acme", "edge tests").token


@pytest.fixture
def api(acme_key):
    """`api(method, url, body=None, raw=None)`: a request with acme's key; `raw` is sent as it is."""
    client = Client()

    def send(method: str, url: str, body=None, raw: str | bytes | None = None):
        data = raw if raw is not None else (json.dumps(body) if body is not None else "")
        return client.generic(
            method, url, data, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {acme_key}"
        )

    return send
