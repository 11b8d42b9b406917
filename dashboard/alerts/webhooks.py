"""Sending one webhook without letting a tenant aim the platform at its own network.

A tenant types the URL, so every request to it is treated as hostile:

- the URL itself: http(s) (https only where `ALERTS_WEBHOOK_HTTPS_ONLY`), no `user:pass@`, no
  whitespace or control characters, a port from `ALERTS_WEBHOOK_PORTS` (checked when saved and again
  when sent, so a row saved before these rules cannot slip through);
- the addresses: the name is resolved once per delivery, every address it resolves to must be
  public (`is_public_ip`: not private, loopback, link-local, multicast, unspecified, CGNAT, nor an
  IPv6 form that carries an IPv4 address — mapped, compatible, 6to4, NAT64, Teredo), and the
  connection goes to one of exactly those addresses, with the name in the Host header and the TLS
  SNI/certificate check. A name that answers "public" to the check and "127.0.0.1" a moment later
  (DNS rebinding) gets no second lookup;
- redirects are never followed (a 3xx is an error answer like any other non-2xx);
- the whole request — name lookup, connect, TLS, send, status line and headers — has a total deadline
  (`ALERTS_WEBHOOK_DEADLINE_SECONDS`), enforced by closing the socket, however slowly the receiver
  drips bytes; each single read also times out after `ALERTS_WEBHOOK_TIMEOUT`.

Signatures follow Standard Webhooks (the `standardwebhooks` package): `webhook-id`,
`webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, so the
timestamp is signed and a receiver's `Webhook(secret).verify(body, headers)` refuses a replay.

`resolve` and `open_connection` are the only two places that touch DNS and the network (and
`tls_context` the only one that says which CAs to trust): tests replace them to play a "public"
host on loopback.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from standardwebhooks import Webhook

MAX_URL_LENGTH = 500

# Ranges that `ipaddress.is_global` lets through but a webhook must not reach.
NOT_PUBLIC = tuple(
    ipaddress.ip_network(network)
    for network in (
        "0.0.0.0/8",  # "this network", unspecified
        "100.64.0.0/10",  # carrier-grade NAT (shared address space)
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, broadcast
        "::/96",  # IPv4-compatible IPv6 (and :: and ::1)
        "::ffff:0:0/96",  # IPv4-mapped IPv6
        "64:ff9b::/96",  # NAT64: reaches any IPv4 address through a NAT64 gateway
        "64:ff9b:1::/48",  # local-use NAT64
        "2001::/32",  # Teredo
        "2002::/16",  # 6to4: carries an IPv4 address
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)


class Refused(Exception):
    """The URL, or an address its host resolves to, is not one a webhook may go to."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


def is_public_ip(text: str) -> bool:
    if "%" in text:  # a scoped (zone) address is link-local by nature
        return False
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return False
    if (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_unspecified
        or ip.is_reserved
    ):
        return False
    return not any(ip in network for network in NOT_PUBLIC if network.version == ip.version)


def resolve(host: str, port: int) -> list[str]:
    """Every address the host resolves to (the seam tests replace); empty when it does not resolve."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def open_connection(address: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to exactly this address (the seam tests replace)."""
    return socket.create_connection((address, port), timeout=timeout)


def tls_context() -> ssl.SSLContext:
    """Certificates checked against the system's CAs, for the URL's name (the seam tests replace)."""
    return ssl.create_default_context()


def allowed_ports() -> tuple[int, ...]:
    return tuple(settings.ALERTS_WEBHOOK_PORTS)


def check_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of a URL a webhook may have; raises Refused saying why not."""
    if not url or len(url) > MAX_URL_LENGTH:
        raise Refused(f"An http(s) URL of up to {MAX_URL_LENGTH} characters.")
    if any(char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in url):
        raise Refused("The URL may not contain spaces or control characters.")
    schemes = ["https"] if settings.ALERTS_WEBHOOK_HTTPS_ONLY else ["http", "https"]
    try:
        URLValidator(schemes=schemes)(url)
    except ValidationError:
        raise Refused(
            "An https:// URL." if schemes == ["https"] else "An http(s) URL of a host name or address."
        ) from None
    parts = urlsplit(url)
    if "@" in parts.netloc:
        raise Refused("The URL may not carry a user name or password (user:pass@).")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise Refused("The URL's port is not valid.") from None
    ports = allowed_ports()
    if ports and port not in ports:
        raise Refused(f"Use one of the ports {', '.join(str(p) for p in ports)}.")
    host = parts.hostname or ""
    if not host:
        raise Refused("An http(s) URL of a host name or address.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, host, port, path


# Name lookups run here, so a resolver that never answers costs a delivery its deadline, not the
# worker: the lookup thread is left to finish on its own (a few at most, then later lookups wait).
_lookups = ThreadPoolExecutor(max_workers=4, thread_name_prefix="webhook-dns")


def _resolve_by(host: str, port: int, deadline: float | None) -> list[str]:
    if deadline is None:
        return resolve(host, port)
    future = _lookups.submit(resolve, host, port)
    try:
        return future.result(timeout=max(0.0, deadline - time.monotonic()))
    except FutureTimeout:
        raise DeadlineExceeded("the name did not resolve in time") from None


def target(url: str, deadline: float | None = None) -> Target:
    """The checked URL and the checked addresses to connect to (resolved once, here, by the
    delivery's `deadline` when it has one)."""
    scheme, host, port, path = check_url(url)
    addresses = tuple(_resolve_by(host, port, deadline))
    if not addresses:
        raise Refused("The host does not resolve.")
    if not settings.ALERTS_WEBHOOK_ALLOW_PRIVATE and not all(is_public_ip(a) for a in addresses):
        raise Refused("The host is not a public address (private, loopback, link-local or reserved).")
    return Target(scheme, host, port, path, addresses)


def signing_secret(stored: str) -> str:
    """The secret in Standard Webhooks' form (`whsec_` + base64). Secrets made before were url-safe
    base64 of the same 32 random bytes: the same key, spelled with `+/` instead of `-_`."""
    key = stored.removeprefix("whsec_")
    return "whsec_" + key.replace("-", "+").replace("_", "/")


def signature_headers(
    secrets: str | list[str], message_id: str, body: bytes, at: float | None = None
) -> dict[str, str]:
    """Standard Webhooks headers; with several secrets (a rotation under way) one `v1,…` signature
    per secret, space-separated, so a receiver holding either secret verifies."""
    stamp = datetime.fromtimestamp(int(time.time() if at is None else at), UTC)
    keys = [secrets] if isinstance(secrets, str) else secrets
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(stamp.timestamp())),
        "webhook-signature": " ".join(
            Webhook(signing_secret(key)).sign(message_id, stamp, body) for key in keys
        ),
    }


class DeadlineExceeded(TimeoutError):
    pass


class _PinnedConnection(http.client.HTTPConnection):
    """HTTP(S) to the host's name (Host header, SNI, certificate) over a socket to a checked address."""

    def __init__(self, target: Target, deadline: float) -> None:
        super().__init__(target.host, target.port, timeout=settings.ALERTS_WEBHOOK_TIMEOUT)
        self.default_port = 443 if target.scheme == "https" else 80  # Host: name, with a port only if not it
        self.target = target
        self.deadline = deadline
        self.aborted = False
        self._lock = threading.Lock()

    def _remaining(self) -> float:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0 or self.aborted:
            raise DeadlineExceeded("the delivery deadline passed")
        return remaining

    def connect(self) -> None:
        error: OSError | None = None
        for address in self.target.addresses:
            try:
                raw = open_connection(
                    address, self.target.port, min(self._remaining(), settings.ALERTS_WEBHOOK_TIMEOUT)
                )
                break
            except DeadlineExceeded:
                raise
            except OSError as exc:
                error = exc
        else:
            raise error or OSError("no address to connect to")
        with self._lock:
            self.sock = raw
        if self.aborted:
            raw.close()
            raise DeadlineExceeded("the delivery deadline passed")
        if self.target.scheme == "https":
            tls = tls_context().wrap_socket(raw, server_hostname=self.target.host)
            with self._lock:
                self.sock = tls

    def abort(self) -> None:
        """Called by the deadline timer from another thread: unblock whatever read or write is waiting."""
        with self._lock:
            self.aborted = True
            sock = self.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST once and return the receiver's HTTP status (a redirect is returned, never followed).

    Raises Refused when the URL or its addresses are not allowed, DeadlineExceeded past the total
    deadline, and whatever the connection raised (OSError, ssl.SSLError, http.client.HTTPException, …)
    when no HTTP answer came.
    """
    deadline_seconds = float(settings.ALERTS_WEBHOOK_DEADLINE_SECONDS)
    deadline = time.monotonic() + deadline_seconds
    pinned = _PinnedConnection(target(url, deadline), deadline)
    timer = threading.Timer(max(0.0, deadline - time.monotonic()), pinned.abort)
    timer.daemon = True
    timer.start()
    try:
        pinned.request("POST", pinned.target.path, body=body, headers=headers)
        response = pinned.getresponse()
        status = response.status
    except Exception as exc:  # noqa: BLE001 — whatever the closed socket raised, the deadline is the cause
        if pinned.aborted:
            raise DeadlineExceeded(f"no answer within {deadline_seconds:g} s") from None
        raise exc
    finally:
        timer.cancel()
        pinned.close()
    if pinned.aborted:
        raise DeadlineExceeded(f"no answer within {deadline_seconds:g} s")
    return status
