"""Secrets in settings: found, so a template never carries them and a review never shows them.

A setting is secret when its name says so (key, token, secret, password, api_key, credential,
authorization, cookie…, as whole words of the name: `max_tokens` is not) or its value holds a
credential anywhere in it. Values are scanned by `detect-secrets`' own plugins (AWS, Stripe, Slack
tokens and webhooks, JWTs, GitHub, private keys, `password = "…"` assignments, URL basic auth, …),
plus what a flow's settings add by their structure: sensitive HTTP headers (`Authorization: Basic …`,
`Token …`, `X-Api-Key`, `Cookie`), URLs with `user:pass@` or a secret query parameter (`?api_key=`,
`token`, `sig`…), and keys its plugins do not know (OpenAI `sk-…`, Google `AIza…`, `github_pat_…`).
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

log = logging.getLogger(__name__)

SECRET_WORDS = frozenset(
    [
        "key",
        "apikey",
        "token",
        "secret",
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "credential",
        "credentials",
        "auth",
        "authorization",
        "cookie",
    ]
)
# Request headers that carry credentials whatever their value looks like.
SENSITIVE_HEADERS = frozenset(["authorization", "proxy-authorization", "cookie", "set-cookie"])
# URL query parameters that carry credentials (besides names with a secret word: `access_token`).
SENSITIVE_QUERY = frozenset(
    ["api_key", "apikey", "key", "token", "secret", "password", "pass", "pwd", "sig", "signature"]
)
_CREDENTIAL = re.compile(
    r"(?:\bsk-[A-Za-z0-9_\-]{8,}|\bAKIA[0-9A-Z]{16}\b|\bghp_[A-Za-z0-9]{20,}|\bgithub_pat_[A-Za-z0-9_]{20,}"
    r"|\bxox[abposr]-[A-Za-z0-9\-]{8,}|\bAIza[0-9A-Za-z_\-]{30,}|\b[rs]k_(?:live|test)_[A-Za-z0-9]{10,}"
    r"|\b(?:Bearer|Basic|Token|Digest)\s+[A-Za-z0-9._~+/=\-]{8,}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----)"
)
# `password=hunter2`, `api_key: abc…` written out in a prompt or body (quoted ones detect-secrets finds).
_ASSIGNMENT = re.compile(
    r"(?i)(?<![A-Za-z0-9_])(?:password|passwd|pwd|secret|client_secret|api[_-]?key|access[_-]?token|auth[_-]?token)"
    r"[\"']?\s*[:=]\s*[\"']?([^\s\"',;&]{4,})"
)
_HEADER = re.compile(r"(?:^|\n)\s*([A-Za-z0-9-]{2,64})\s*:\s*(\S.*)")
_URL = re.compile(r"\b[a-z][a-z0-9+.\-]{0,15}://[^\s\"'<>]+", re.IGNORECASE)  # bounded: linear time
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
MASK = "••••••"
# detect-secrets plugins left out: entropy guesses flag ids and hashes, public IPs are not secrets.
_SKIPPED_PLUGINS = frozenset(["Base64HighEntropyString", "HexHighEntropyString", "IPPublicDetector"])


@functools.cache
def _plugins() -> tuple[Any, ...]:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    classes = get_mapping_from_secret_type_to_class().values()
    return tuple(
        cls() for cls in sorted(classes, key=lambda c: c.__name__) if cls.__name__ not in _SKIPPED_PLUGINS
    )


def is_secret_name(name: str) -> bool:
    """`api_key`, `AUTH_TOKEN`, `clientSecret`, `x-api-key`, `Cookie` → True; `max_tokens`, `keyword` → False."""
    words = {word.lower() for word in _WORD.findall(str(name))}
    return bool(words & SECRET_WORDS) or str(name).strip().lower() in SENSITIVE_HEADERS


def _url_secrets(text: str) -> list[str]:
    found = []
    for match in _URL.finditer(text):
        try:
            parts = urlsplit(match.group(0))
            password = parts.password
        except ValueError:
            continue
        if password or (parts.username and "@" in parts.netloc and ":" in parts.netloc.split("@")[0]):
            found.append(password or parts.username)
        for name, value in parse_qsl(parts.query, keep_blank_values=False):
            if value and (name.lower() in SENSITIVE_QUERY or is_secret_name(name)):
                found.append(value)
    return found


def _header_secrets(text: str) -> list[str]:
    return [
        match.group(2).strip()
        for match in _HEADER.finditer(text)
        if is_secret_name(match.group(1)) and not match.group(2).strip().startswith("{{")
    ]


def find_secrets(text: str) -> list[str]:
    """The credentials in `text` (each as found, possibly part of a longer token), or []."""
    if not isinstance(text, str) or len(text) < 4:
        return []
    found: list[str] = [m.group(0) for m in _CREDENTIAL.finditer(text)]
    found += [m.group(1) for m in _ASSIGNMENT.finditer(text)]
    found += _url_secrets(text) + _header_secrets(text)
    for line in text.splitlines() or [text]:
        for plugin in _plugins():
            try:
                found += [str(secret) for secret in plugin.analyze_string(line) if secret]
            except Exception as exc:  # noqa: BLE001 — a plugin's odd input never hides the others' findings
                log.debug("secret plugin %s failed on a line", type(plugin).__name__, exc_info=exc)
    return [secret for secret in dict.fromkeys(found) if secret and not secret.startswith("{{")]


def looks_like_credential(text: str) -> bool:
    return bool(find_secrets(text))


def contains_secret(value: Any) -> bool:
    """Whether any string anywhere in `value` (nested lists and objects too) holds a credential, or a
    key of an object names a secret that has a value."""
    if isinstance(value, str):
        return looks_like_credential(value)
    if isinstance(value, dict):
        return any(
            (is_secret_name(key) and item not in (None, "", [], {})) or contains_secret(item)
            for key, item in value.items()
        )
    if isinstance(value, list | tuple):
        return any(contains_secret(item) for item in value)
    return False


def _hint(text: str) -> str:
    """What kind of secret it is, without any of its characters beyond a well-known prefix."""
    for prefix in ("sk-", "AKIA", "ghp_", "github_pat_", "xox", "AIza", "Bearer", "Basic", "Token"):
        if text.startswith(prefix):
            return f"{prefix}{MASK}"
    return MASK


def mask_text(text: str) -> tuple[str, bool]:
    """The text with every credential in it masked, and whether there was one."""
    secrets = find_secrets(text)
    if not secrets:
        return text, False
    for secret in sorted(secrets, key=len, reverse=True):
        # The whole run of non-space characters a finding sits in goes (a JWT's signature too).
        pattern = re.compile(r"[^\s\"',;&?=]{0,200}" + re.escape(secret) + r"[^\s\"',;&]{0,200}")
        text = pattern.sub(lambda m: _hint(m.group(0)), text)
    return text, True


@dataclass(frozen=True)
class Setting:
    """One row of a node's settings as a review shows them: nested objects and lists of objects are
    indented under their name (`depth`), a list of plain values is one row of lines."""

    path: str  # "model", "headers", "retry.max_attempts", "tools[1].name": what changes compare
    value: str  # as shown, masked where secret ("" for a group's heading row)
    secret: bool
    name: str = ""  # the key as a person reads it: "max_attempts", "item 2"
    depth: int = 0
    group: bool = False  # a heading row: its settings follow, indented

    @property
    def indent(self) -> str:
        return f"{self.depth * 1.25:g}rem"


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    return str(value).lower() if isinstance(value, bool) else str(value)


def settings_rows(config: Any, prefix: str = "", depth: int = 0) -> list[Setting]:
    """A node's settings as readable rows (see `Setting`), secrets masked."""
    rows: list[Setting] = []
    if isinstance(config, dict):
        for name, value in config.items():
            path = f"{prefix}.{name}" if prefix else str(name)
            rows.extend(_setting_rows(str(name), value, path, depth))
    else:
        rows.extend(_setting_rows("value", config, prefix or "value", depth))
    return rows


def _setting_rows(name: str, value: Any, path: str, depth: int) -> list[Setting]:
    if is_secret_name(name) and not isinstance(value, dict | list) and value not in (None, ""):
        return [Setting(path, f"{MASK} (stored secret)", True, name, depth)]
    if isinstance(value, dict):
        if not value:
            return [Setting(path, "(none)", False, name, depth)]
        return [Setting(path, "", False, name, depth, group=True), *settings_rows(value, path, depth + 1)]
    if isinstance(value, list):
        if all(not isinstance(item, dict | list) for item in value):
            shown, secret = mask_text("\n".join(_scalar(item) for item in value))
            return [Setting(path, shown if value else "(none)", secret, name, depth)]
        rows = [Setting(path, "", False, name, depth, group=True)]
        for index, item in enumerate(value):
            item_path = f"{path}[{index}]"
            if isinstance(item, dict):
                rows.append(Setting(item_path, "", False, f"item {index + 1}", depth + 1, group=True))
                rows.extend(settings_rows(item, item_path, depth + 2))
            else:
                rows.extend(_setting_rows(f"item {index + 1}", item, item_path, depth + 1))
        return rows
    shown, secret = mask_text(_scalar(value))
    return [Setting(path, shown, secret, name, depth)]
