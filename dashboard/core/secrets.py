"""Stored secrets masked for display: a moderator must see that a key leaked, never the key itself.

A setting is secret when its name says so (key, token, secret, password, api_key, credential…, as
whole words of the name: `max_tokens` is not) or its value looks like a known credential
(OpenAI-style `sk-…`, AWS access key ids `AKIA…`, GitHub `ghp_…`, Slack `xox…-`, a `Bearer` header).
Credentials inside longer text (a prompt, a URL's query) are masked in place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SECRET_WORDS = frozenset(
    ["key", "apikey", "token", "secret", "password", "passwd", "pwd", "credential", "credentials", "auth"]
)
_CREDENTIAL = re.compile(
    r"(?:\bsk-[A-Za-z0-9_\-]{8,}|\bAKIA[0-9A-Z]{16}\b|\bghp_[A-Za-z0-9]{20,}|\bxox[abposr]-[A-Za-z0-9\-]{8,}"
    r"|\bBearer\s+[A-Za-z0-9._\-]{12,})"
)
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
MASK = "••••••"


def is_secret_name(name: str) -> bool:
    """`api_key`, `AUTH_TOKEN`, `clientSecret`, `x-api-key` → True; `max_tokens`, `keyword` → False."""
    words = {word.lower() for word in _WORD.findall(str(name))}
    return bool(words & SECRET_WORDS)


def looks_like_credential(text: str) -> bool:
    return bool(_CREDENTIAL.search(text))


def _hint(text: str) -> str:
    """What kind of secret it is, without any of its characters beyond a well-known prefix."""
    for prefix in ("sk-", "AKIA", "ghp_", "xox", "Bearer"):
        if text.startswith(prefix):
            return f"{prefix}{MASK}"
    return MASK


def mask_text(text: str) -> tuple[str, bool]:
    """The text with every credential in it masked, and whether there was one."""
    found = False

    def hide(match: re.Match) -> str:
        nonlocal found
        found = True
        return _hint(match.group(0))

    return _CREDENTIAL.sub(hide, text), found


@dataclass(frozen=True)
class Setting:
    path: str  # "model", "headers.Authorization", "stop[0]"
    value: str  # as shown, masked where secret
    secret: bool


def settings_rows(config: Any, prefix: str = "") -> list[Setting]:
    """A node's settings flattened to one row per value, secrets masked."""
    rows: list[Setting] = []
    if isinstance(config, dict):
        for name, value in config.items():
            path = f"{prefix}.{name}" if prefix else str(name)
            if is_secret_name(name) and not isinstance(value, dict | list) and value not in (None, ""):
                rows.append(Setting(path, f"{MASK} (stored secret)", True))
            else:
                rows.extend(settings_rows(value, path))
    elif isinstance(config, list):
        for index, value in enumerate(config):
            rows.extend(settings_rows(value, f"{prefix}[{index}]"))
    else:
        text = "" if config is None else (str(config).lower() if isinstance(config, bool) else str(config))
        shown, secret = mask_text(text)
        rows.append(Setting(prefix or "value", shown, secret))
    return rows
