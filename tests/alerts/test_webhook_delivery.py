"""Webhook delivery against hostile receivers and URLs (issue #34, points 2, 3, 4 and 7).

"Public" hosts are played on loopback: `webhooks.resolve` answers from the test's fake DNS and
`webhooks.open_connection` routes a fake public address to a server on 127.0.0.1; anything not routed
is refused, so no test ever sends traffic off this machine.
"""

from __future__ import annotations

import contextlib
import re
import socket
import socketserver
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from standardwebhooks import WebhookVerificationError

from dashboard.alerts import delivery, queries, services, webhooks
from dashboard.alerts.evaluation import run_pass
from dashboard.alerts.inputs import RuleInput, clean_webhook_url
from dashboard.alerts.models import AlertChannel
from dashboard.analytics.services import set_budget
from dashboard.core.errors import ValidationFailed
from tests.alerts.conftest import STAFF_SCOPE, run
from tests.conftest import element_by_id

README = Path(__file__).resolve().parents[2] / "README.md"
PUBLIC = "93.184.216.34"  # plays a public receiver's address
PUBLIC_2 = "93.184.216.35"


# --- a small fake internet on loopback -------------------------------------------------------


def read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    match = re.search(rb"content-length:\s*(\d+)", head, re.IGNORECASE)
    length = int(match.group(1)) if match else 0
    while len(body) < length:
        chunk = conn.recv(4096)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


@dataclass
class Server:
    port: int
    hits: list[bytes] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def serve() -> Iterator[Callable[..., Server]]:
    """serve(answer) starts a TCP server on 127.0.0.1; answer(conn, request, server) replies."""
    started: list[tuple[socketserver.ThreadingTCPServer, Server]] = []

    def start(
        answer: Callable[[socket.socket, bytes, Server], None], tls: ssl.SSLContext | None = None
    ) -> Server:
        state = Server(port=0)

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                conn = self.request
                conn.settimeout(15)
                with contextlib.suppress(OSError):
                    if tls is not None:
                        conn = tls.wrap_socket(conn, server_side=True)
                    request = read_request(conn)
                    state.hits.append(request)
                    answer(conn, request, state)

        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        state.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append((server, state))
        return state

    yield start
    for server, state in started:
        state.stop.set()
        server.shutdown()
        server.server_close()


def answer_status(status: int, extra: str = "") -> Callable:
    def answer(conn, _request, _state) -> None:
        conn.sendall(f"HTTP/1.1 {status} X\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n".encode())

    return answer


@dataclass
class Internet:
    dns: dict[str, list[list[str]]] = field(default_factory=dict)  # name: successive answers
    routes: dict[tuple[str, int], int] = field(default_factory=dict)  # (address, port): loopback port
    lookups: list[str] = field(default_factory=list)
    connects: list[tuple[str, int]] = field(default_factory=list)


@pytest.fixture
def internet(monkeypatch, settings) -> Internet:
    """Production's webhook rules, over a fake DNS and a fake network (http, as TLS needs a CA here)."""
    settings.ALERTS_WEBHOOK_ALLOW_PRIVATE = False
    settings.ALERTS_WEBHOOK_HTTPS_ONLY = False
    settings.ALERTS_WEBHOOK_PORTS = (443, 80, 8443)
    net = Internet()

    def resolve(host: str, port: int) -> list[str]:
        net.lookups.append(host)
        answers = net.dns.get(host)
        if answers is None:
            return []
        return answers.pop(0) if len(answers) > 1 else answers[0]

    def open_connection(address: str, port: int, timeout: float) -> socket.socket:
        net.connects.append((address, port))
        if (address, port) not in net.routes:
            raise ConnectionRefusedError(111, "Connection refused")
        return socket.create_connection(("127.0.0.1", net.routes[(address, port)]), timeout=timeout)

    monkeypatch.setattr(webhooks, "resolve", resolve)
    monkeypatch.setattr(webhooks, "open_connection", open_connection)
    return net


# --- a tenant with one crossing claimed -----------------------------------------------------------


def claim_one(tenant, url: str | None, unchecked: bool = False) -> None:
    """A budget rule crossed by the tenant's next run: the API request claims it (and only that).
    `unchecked`: the channel row is written as it is, as rows saved before today's URL checks were."""
    status, body = tenant.post("probe-agent", run())
    assert status == 201
    set_budget(STAFF_SCOPE, tenant.tenant_id, body["runs"][0]["cost_micro_usd"] * 2, None)
    services.create_rule(tenant.scope, None, RuleInput(name="Budget", kind="budget", thresholds=(50,)))
    if unchecked:
        AlertChannel(tenant_id=tenant.tenant_id, webhook_url=url, webhook_secret="whsec_" + "A" * 44).save()
    elif url is not None:
        services.save_channel(tenant.scope, None, url, "", None)
    status, _ = tenant.post("agent", run())
    assert status == 201
    assert len(queries.recent_firings(tenant.tenant_id)) == 1


def deliver(tenant) -> None:
    for firing in queries.recent_firings(tenant.tenant_id):
        if firing.pending:
            delivery.deliver(firing)


def webhook_log(tenant) -> list[str]:
    firing = queries.recent_firings(tenant.tenant_id)[0]
    return [f"{a.outcome} — {a.detail}" for a in firing.attempts or [] if a.channel == "webhook"]


@pytest.fixture(autouse=True)
def nothing_left_pending(request) -> Iterator[None]:
    """Later tests' passes must not pick up this test's claims (their receivers are gone)."""
    yield
    for name in ("tenant", "tenant_factory"):
        if name in request.fixturenames:
            for firing in queries.pending_firings(limit=1000):
                firing.update(actions=[type(firing).pending.remove()])


# --- point 2: SSRF -----------------------------------------------------------------------------


def test_a_redirect_to_the_metadata_service_is_not_followed(tenant, internet, serve):
    metadata = serve(answer_status(200))
    hook = serve(
        answer_status(
            302,
            f"Location: http://127.0.0.1:{metadata.port}/latest/meta-data/iam/security-credentials/\r\n",
        )
    )
    internet.dns["hook.example"] = [[PUBLIC]]
    internet.routes[(PUBLIC, 80)] = hook.port
    internet.routes[("127.0.0.1", metadata.port)] = metadata.port  # the platform's own loopback
    claim_one(tenant, "http://hook.example/alerts")

    deliver(tenant)

    assert len(hook.hits) == 1 and hook.hits[0].startswith(b"POST /alerts HTTP/1.1")
    assert b"\r\nHost: hook.example\r\n" in hook.hits[0]  # the name, over the checked address
    assert metadata.hits == []
    assert internet.connects == [(PUBLIC, 80)]
    assert webhook_log(tenant)[0].startswith("failed — the receiver answered an error (attempt 1)")


def test_a_name_that_rebinds_to_loopback_after_the_check_reaches_nothing_inside(tenant, internet, serve):
    hook = serve(answer_status(204))
    inside = serve(answer_status(200))
    # Public when saved and when checked at delivery, 127.0.0.1 to any later lookup.
    internet.dns["rebind.example"] = [[PUBLIC], [PUBLIC], ["127.0.0.1"]]
    internet.routes[(PUBLIC, 80)] = hook.port
    internet.routes[("127.0.0.1", 80)] = inside.port
    claim_one(tenant, "http://rebind.example/")

    deliver(tenant)

    assert inside.hits == [] and len(hook.hits) == 1
    assert internet.lookups == ["rebind.example", "rebind.example"]  # saved, then once per delivery
    assert webhook_log(tenant) == ["delivered — the receiver accepted it (attempt 1)"]


def test_a_name_resolving_inside_at_delivery_is_refused_without_connecting(tenant, internet, serve):
    inside = serve(answer_status(200))
    internet.dns["rebind.example"] = [[PUBLIC], [PUBLIC_2, "127.0.0.1"]]  # one address of two inside
    internet.routes[("127.0.0.1", 80)] = inside.port
    claim_one(tenant, "http://rebind.example/")

    deliver(tenant)

    assert internet.connects == [] and inside.hits == []
    firing = queries.recent_firings(tenant.tenant_id)[0]
    assert firing.webhook_state == "failed" and webhook_log(tenant)[0].startswith("failed — refused:")


def certificate(folder: Path, name: str) -> tuple[str, str]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        + ["-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", f"/CN={name}"]
        + ["-addext", f"subjectAltName=DNS:{name}"],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


def test_https_goes_to_the_checked_address_with_the_names_sni_host_and_certificate(
    tenant, internet, serve, tmp_path, monkeypatch, settings
):
    settings.ALERTS_WEBHOOK_HTTPS_ONLY = True
    settings.ALERTS_RETRY_SECONDS = 0
    cert, key = certificate(tmp_path, "hook.example")
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    names: list[str] = []
    server_tls.sni_callback = lambda _sock, name, _ctx: names.append(name)
    hook = serve(answer_status(204), tls=server_tls)
    monkeypatch.setattr(webhooks, "tls_context", lambda: ssl.create_default_context(cafile=cert))
    internet.dns["hook.example"] = [[PUBLIC]]
    internet.dns["other.example"] = [[PUBLIC_2]]
    internet.routes[(PUBLIC, 443)] = hook.port
    internet.routes[(PUBLIC_2, 443)] = hook.port  # answers with hook.example's certificate
    claim_one(tenant, "https://other.example/alerts")
    deliver(tenant)  # the certificate is not other.example's
    services.save_channel(tenant.scope, None, "https://hook.example/alerts", "", None)
    deliver(tenant)

    assert names == ["other.example", "hook.example"]
    assert len(hook.hits) == 1 and hook.hits[0].startswith(b"POST /alerts HTTP/1.1")
    assert b"\r\nHost: hook.example\r\n" in hook.hits[0]
    assert [entry.split(";")[0] for entry in webhook_log(tenant)] == [
        "failed — could not connect (attempt 1)",
        "delivered — the receiver accepted it (attempt 2)",
    ]
    assert internet.connects == [(PUBLIC_2, 443), (PUBLIC, 443)]


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.5",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # the metadata service
        "100.64.0.1",  # CGNAT
        "0.0.0.0",
        "224.0.0.1",  # multicast
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",  # multicast
        "ff0e::1",  # global multicast
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:169.254.169.254",
        "::7f00:1",  # IPv4-compatible 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    ],
)
def test_an_address_inside_or_carrying_one_is_refused(address, internet):
    internet.dns["hook.example"] = [[address]]
    assert not webhooks.is_public_ip(address)
    with pytest.raises(ValidationFailed) as refused:
        clean_webhook_url("http://hook.example/")
    assert "webhook_url" in refused.value.fields


def test_public_addresses_on_allowed_ports_pass_and_other_ports_or_plain_http_do_not(internet, settings):
    internet.dns["hook.example"] = [[PUBLIC, "2606:2800:220:1:248:1893:25c8:1946"]]
    assert clean_webhook_url("http://hook.example/") == "http://hook.example/"
    assert clean_webhook_url("https://hook.example:8443/x?y=1") == "https://hook.example:8443/x?y=1"
    for url in ("http://hook.example:22/", "https://hook.example:6379/", "http://hook.example:8080/"):
        with pytest.raises(ValidationFailed, match="not valid"):
            clean_webhook_url(url)
    settings.ALERTS_WEBHOOK_PORTS = (443,)  # a setting
    with pytest.raises(ValidationFailed):
        clean_webhook_url("https://hook.example:8443/")
    settings.ALERTS_WEBHOOK_HTTPS_ONLY = True  # production (DEBUG false)
    assert clean_webhook_url("https://hook.example/") == "https://hook.example/"
    with pytest.raises(ValidationFailed) as refused:
        clean_webhook_url("http://hook.example/")
    assert "https://" in refused.value.fields["webhook_url"]


def test_the_tenant_log_does_not_tell_a_closed_port_from_an_error_answer(
    tenant, internet, serve, caplog, settings
):
    settings.ALERTS_RETRY_SECONDS = 0
    erring = serve(answer_status(503))
    internet.dns["closed.example"] = [[PUBLIC]]  # nothing listens: connection refused
    internet.dns["erring.example"] = [[PUBLIC_2]]
    internet.routes[(PUBLIC_2, 8443)] = erring.port
    claim_one(tenant, "http://closed.example/")
    deliver(tenant)
    services.save_channel(tenant.scope, None, "http://erring.example:8443/", "", None)
    deliver(tenant)

    log = webhook_log(tenant)
    assert [entry.split(";")[0] for entry in log] == [
        "failed — could not connect (attempt 1)",
        "failed — the receiver answered an error (attempt 2)",
    ]
    page = element_by_id(tenant.client.get("/analytics/alerts/").content.decode(), "delivery-log")
    page = re.sub(r"<time[^>]*>.*?</time>", "", page)  # the times' digits are not a leak ("…21.503Z")
    for leak in ("503", "111", "refused", "Errno", "ConnectionRefusedError"):
        assert leak not in page
    server_log = caplog.text
    assert "ConnectionRefusedError" in server_log and "HTTP 503" in server_log


# --- point 3: one bad webhook must not stop alerting -------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://user:pass@{host}/hook",
        "http://user@{host}/hook",
        "http://{host}/a b",
        "http://{host}/a\tb",
        "http://{host}/a\x00b",
        "http://{host}/a\r\nX-Injected: 1",
        "http://{host}/a\x7fb",
        "http://{host}/\u200bhook",
        "http://{host}:99999/hook",
        "http://{host}:http/hook",
        "ftp://{host}/hook",
    ],
)
def test_a_webhook_url_with_userinfo_whitespace_or_control_characters_is_refused_when_saved(
    url, tenant, receiver
):
    host = receiver.url.split("/")[2]
    with pytest.raises(ValidationFailed) as refused:
        services.save_channel(tenant.scope, None, url.format(host=host), "", None)
    assert "webhook_url" in refused.value.fields
    assert queries.channel(tenant.tenant_id).webhook_url == ""


def test_the_delivery_form_says_inline_why_a_webhook_url_is_refused(tenant, receiver):
    url = receiver.url.replace("http://", "http://user:secret@")
    response = tenant.client.post("/analytics/alerts/delivery", {"webhook_url": url, "email": ""})
    assert response.status_code == 422
    form = element_by_id(response.content.decode(), "channel-form")
    assert "may not carry a user name or password" in form
    assert queries.channel(tenant.tenant_id).webhook_url == ""


def test_one_tenants_broken_webhook_does_not_stop_the_pass_for_the_others(tenant_factory, receiver, serve):
    garbage = serve(lambda conn, _request, _state: conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n"))
    broken_url = tenant_factory("Userinfo in its URL")
    non_http = tenant_factory("Receiver speaks SSH")
    healthy = tenant_factory("Healthy receiver")
    claim_one(broken_url, receiver.url.replace("http://", "http://user:pass@"), unchecked=True)
    claim_one(non_http, f"http://127.0.0.1:{garbage.port}/hook")
    claim_one(healthy, receiver.url)  # each API call answered 201 (claim_one checks)

    run_pass()  # does not raise

    assert len(receiver.bodies()) == 1 and receiver.bodies()[0]["tenant_id"] == healthy.tenant_id
    assert webhook_log(broken_url)[0].startswith("failed — refused:")
    assert webhook_log(non_http)[0].startswith("failed — could not connect (attempt 1)")
    assert len(garbage.hits) == 1


def test_an_unexpected_error_in_alerting_never_fails_the_api_call(tenant, monkeypatch):
    from dashboard.alerts import evaluation

    services.create_rule(tenant.scope, None, RuleInput(name="Budget", kind="budget"))

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in a rule's evaluation")

    monkeypatch.setattr(evaluation, "crossings", broken)
    status, body = tenant.post("agent", run())
    assert status == 201 and body["recorded"] == 1


# --- point 4: slow receivers hold no web thread, and the worker gives up at the deadline ------------


def drip(conn, _request, state: Server) -> None:
    """Answers a byte of a status line every second, for up to 8 s."""
    for byte in b"HTTP/1.1 200 OK\r\n"[:8]:
        if state.stop.wait(1.0):
            return
        conn.sendall(bytes([byte]))


def test_a_dripping_receiver_holds_neither_the_api_request_nor_the_worker_past_its_deadline(
    tenant, serve, settings
):
    settings.ALERTS_WEBHOOK_DEADLINE_SECONDS = 2
    settings.ALERTS_WEBHOOK_TIMEOUT = 5  # each single read would wait longer than a drip
    dripping = serve(drip)
    status, body = tenant.post("probe-agent", run())
    set_budget(STAFF_SCOPE, tenant.tenant_id, body["runs"][0]["cost_micro_usd"] * 2, None)
    services.create_rule(tenant.scope, None, RuleInput(name="Budget", kind="budget", thresholds=(50,)))
    services.save_channel(tenant.scope, None, f"http://127.0.0.1:{dripping.port}/hook", "", None)

    started = time.monotonic()
    status, _ = tenant.post("agent", run())  # crosses the threshold: claims
    api_seconds = time.monotonic() - started
    assert status == 201 and api_seconds < 1.5  # the drip would take 8 s
    assert dripping.hits == []  # the request sent nothing…
    assert len(queries.notifications(tenant.tenant_id).items) == 1  # …but recorded the dashboard's note

    started = time.monotonic()
    deliver(tenant)  # the worker's delivery
    worker_seconds = time.monotonic() - started
    assert len(dripping.hits) == 1
    assert 1.9 <= worker_seconds < 3.5
    assert webhook_log(tenant)[0].startswith("failed — could not connect (attempt 1)")


# --- point 7: the README's verifier, with Standard Webhooks ---------------------------------------


def readme_verifier() -> Callable:
    text = README.read_text()
    section = text[text.index("**Webhook signature.**") :]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 — the README's own recipe
    return namespace["verify"]


def test_the_readme_verifier_accepts_a_fresh_delivery_and_refuses_a_replay(tenant, receiver):
    verify = readme_verifier()
    claim_one(tenant, receiver.url)
    deliver(tenant)
    hit = receiver.received[0]
    secret = queries.channel(tenant.tenant_id).webhook_secret
    assert secret.startswith("whsec_")
    page = tenant.client.get("/analytics/alerts/").content.decode()
    assert f">{secret}<" in element_by_id(page, "webhook-secret")

    body = verify(secret, hit["body"], hit["headers"])
    assert body["tenant_id"] == tenant.tenant_id and body["id"] == hit["headers"]["webhook-id"]

    # A captured delivery replayed later with a fresh timestamp: the signature covers the timestamp.
    replay = {**hit["headers"], "webhook-timestamp": str(int(time.time()))}
    replay["webhook-timestamp"] = str(int(replay["webhook-timestamp"]) + 1)
    with pytest.raises(WebhookVerificationError):
        verify(secret, hit["body"], replay)
    # The same delivery, genuinely signed, but ten minutes old.
    old = webhooks.signature_headers(secret, body["id"], hit["body"], at=time.time() - 600)
    with pytest.raises(WebhookVerificationError):
        verify(secret, hit["body"], old)
    with pytest.raises(WebhookVerificationError):
        verify("whsec_" + "B" * 44, hit["body"], hit["headers"])


def test_a_secret_made_before_standard_webhooks_still_verifies_as_the_page_shows_it(tenant, receiver):
    legacy = "whsec_" + "ab-_" * 10 + "xyz"  # url-safe base64, as secrets were made before
    claim_one(tenant, receiver.url)
    channel = queries.channel(tenant.tenant_id)
    channel.webhook_secret = legacy
    channel.save()
    deliver(tenant)
    hit = receiver.received[0]
    shown = element_by_id(tenant.client.get("/analytics/alerts/").content.decode(), "webhook-secret")
    shown_secret = re.search(r">(whsec_[^<]+)<", shown).group(1)
    assert shown_secret == webhooks.signing_secret(legacy) != legacy
    assert readme_verifier()(shown_secret, hit["body"], hit["headers"])["id"] == hit["headers"]["webhook-id"]


def test_a_name_that_never_resolves_costs_the_delivery_its_deadline_not_the_worker(
    receiver, settings, monkeypatch
):
    settings.ALERTS_WEBHOOK_DEADLINE_SECONDS = 0.5
    released = threading.Event()

    def resolver_that_hangs(host: str, port: int) -> list[str]:
        released.wait()  # no answer until the test is over
        return ["127.0.0.1"]

    monkeypatch.setattr(webhooks, "resolve", resolver_that_hangs)
    outcome: list[BaseException] = []

    def deliver_once() -> None:
        try:
            webhooks.post(receiver.url, b"{}", {"content-type": "application/json"})
        except BaseException as exc:  # noqa: BLE001 — what the delivery gave up with, checked below
            outcome.append(exc)

    worker = threading.Thread(target=deliver_once)
    worker.start()
    worker.join(10)  # far past the deadline: the delivery must be over while the lookup still hangs
    gave_up = not worker.is_alive()
    released.set()
    worker.join()
    assert gave_up and isinstance(outcome[0], webhooks.DeadlineExceeded)
    assert receiver.received == []
