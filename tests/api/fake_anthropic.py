"""A small Anthropic provider on 127.0.0.1 that answers the Messages API (`POST /v1/messages`) like the real one.

- The answer names the dated model (`claude-3-5-sonnet-latest` → `claude-3-5-sonnet-20241022`), as
  Anthropic does; an unknown model gets Anthropic's 404 `not_found_error`.
- Usage as Anthropic reports it: `input_tokens` counts only the input read neither from nor into the
  prompt cache; `cache_read_input_tokens` and `cache_creation_input_tokens` are apart from it (the total
  input is their sum); `output_tokens` every output token.
- A request without a key (`x-api-key`, or the bearer token of recent SDKs) gets a 401, one without `model`, `max_tokens` or `messages` a 400.
- A request whose messages say PLEASE_FAIL gets a 529 with Anthropic's JSON error body (`overloaded_error`).
"""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler

from tests.api.fake_openai import FakeOpenAI

REQUESTED, DATED = "claude-3-5-sonnet-latest", "claude-3-5-sonnet-20241022"
MODELS = {REQUESTED: DATED, DATED: DATED}
# Anthropic's counts: input_tokens is the uncached part (cache read and cache write come on top)
INPUT_TOKENS, CACHE_READ_TOKENS, CACHE_WRITE_TOKENS = 200, 1_024, 512
TOTAL_INPUT_TOKENS = INPUT_TOKENS + CACHE_READ_TOKENS + CACHE_WRITE_TOKENS
OUTPUT_TOKENS = 300
FAIL = "PLEASE_FAIL"
ERROR_STATUS, ERROR_TYPE, ERROR_MESSAGE = 529, "overloaded_error", "Overloaded"


def usage() -> dict:
    return {
        "input_tokens": INPUT_TOKENS,
        "cache_creation_input_tokens": CACHE_WRITE_TOKENS,
        "cache_read_input_tokens": CACHE_READ_TOKENS,
        "cache_creation": {"ephemeral_5m_input_tokens": CACHE_WRITE_TOKENS, "ephemeral_1h_input_tokens": 0},
        "output_tokens": OUTPUT_TOKENS,
        "server_tool_use": None,
        "service_tier": "standard",
    }


def _text(message: dict) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return " ".join(str(block.get("text", "")) for block in content if isinstance(block, dict))
    return str(content or "")


def _request_id() -> str:
    return f"req_fake{time.monotonic_ns()}"


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def _answer(self, status: int, body: dict, request_id: str) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("request-id", request_id)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, kind: str, message: str) -> None:
        request_id = _request_id()
        body = {"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id}
        self._answer(status, body, request_id)

    def do_POST(self) -> None:  # noqa: N802 — http.server's name
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path.split("?")[0].rstrip("/") != "/v1/messages":
            self._error(404, "not_found_error", "Not Found")
            return
        if not (self.headers.get("x-api-key") or self.headers.get("authorization")):  # SDK 2: a bearer token
            self._error(401, "authentication_error", "x-api-key header is required")
            return
        for field in ("model", "max_tokens", "messages"):
            if field not in body:
                self._error(400, "invalid_request_error", f"{field}: Field required")
                return
        model = MODELS.get(str(body["model"]))
        if model is None:
            self._error(404, "not_found_error", f"model: {body['model']}")
            return
        if any(FAIL in _text(message) for message in body["messages"]):
            self._error(ERROR_STATUS, ERROR_TYPE, ERROR_MESSAGE)
            return
        self._answer(
            200,
            {
                "id": f"msg_fake{time.monotonic_ns()}",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{"type": "text", "text": "Hello from the fake provider."}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": usage(),
            },
            _request_id(),
        )


class FakeAnthropic(FakeOpenAI):
    """`with FakeAnthropic() as fake:` serves on a free port; `fake.base_url` is the host (the SDK adds /v1)."""

    handler: type[BaseHTTPRequestHandler] = _Handler
    base_path = ""
