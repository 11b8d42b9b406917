"""Alerts fixtures: tenants with API keys (from the analytics fixtures) and a local webhook receiver."""

from __future__ import annotations

import ipaddress
import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from dashboard.alerts import webhooks
from tests.analytics.conftest import STAFF_SCOPE, TenantKit, make_tenant, run

__all__ = ["STAFF_SCOPE", "TenantKit", "run", "verify"]


def verify(secret: str, body: bytes, headers: dict) -> bool:
    """What a receiver does: Standard Webhooks' check of the signature and its timestamp."""
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


@pytest.fixture(autouse=True)
def no_outside_dns(monkeypatch) -> None:
    """Alerts tests never resolve a name outside this machine: an address literal or `localhost`
    resolves as usual, any other name (a fake "public" host left on a channel) does not resolve."""
    real = webhooks.resolve

    def resolve(host: str, port: int) -> list[str]:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            if host != "localhost":
                return []
        return real(host, port)

    monkeypatch.setattr(webhooks, "resolve", resolve)


@dataclass
class Receiver:
    url: str
    received: list[dict] = field(default_factory=list)  # {"headers": {...}, "body": bytes}
    fail_next: int = 0  # answer this many requests with HTTP 500 first
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self) -> list[dict]:
        return [json.loads(hit["body"]) for hit in self.received if hit["status"] == 204]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with state.lock:
                status = 500 if state.fail_next > 0 else 204
                if state.fail_next > 0:
                    state.fail_next -= 1
                state.received.append({"headers": dict(self.headers), "body": body, "status": status})
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}/hooks/diatonic"
    yield state
    server.shutdown()


@pytest.fixture
def tenant(people) -> TenantKit:
    return make_tenant(people, "Alerting tenant")


@pytest.fixture
def tenant_factory(people) -> Callable[..., TenantKit]:
    return lambda name="Other tenant": make_tenant(people, name)


def confirm_from_mail(outbox: list) -> str:
    """Follow the confirmation link of the last mail as its recipient would (signed out: GET, then
    Confirm), and empty the outbox. The confirmed page's text."""
    from django.test import Client

    link = re.search(r"http://\S+/analytics/alerts/confirm/\S+/", outbox[-1].body).group(0)
    path = link[link.index("/analytics/") :]
    recipient = Client()
    assert recipient.get(path).status_code == 200
    answer = recipient.post(path)
    outbox.clear()
    return answer.content.decode()
