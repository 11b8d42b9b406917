"""A small OpenAI-compatible provider on 127.0.0.1 that answers /v1/chat/completions like the real API.

- The answer names the dated model (`gpt-4o-mini` → `gpt-4o-mini-2024-07-18`), as OpenAI does.
- Usage as OpenAI reports it: `prompt_tokens` counts every input token, cached ones included
  (`prompt_tokens_details.cached_tokens`); `completion_tokens` every output token, reasoning included
  (`completion_tokens_details.reasoning_tokens`).
- A request whose messages say PLEASE_FAIL gets a 429 with OpenAI's JSON error body.
- A request with `tools` gets a tool call: the first tool that is not `final_answer` while the
  conversation has no tool result yet, then `final_answer` (what an agent loop needs to finish).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DATED = {"gpt-4o-mini": "gpt-4o-mini-2024-07-18", "gpt-4o": "gpt-4o-2024-08-06"}
PROMPT_TOKENS, CACHED_TOKENS = 1_200, 1_024
COMPLETION_TOKENS, REASONING_TOKENS = 300, 100
FAIL = "PLEASE_FAIL"
ERROR_MESSAGE = "Rate limit reached for gpt-4o-mini in organization org-test on tokens per min."


def usage() -> dict:
    return {
        "prompt_tokens": PROMPT_TOKENS,
        "completion_tokens": COMPLETION_TOKENS,
        "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
        "prompt_tokens_details": {"cached_tokens": CACHED_TOKENS, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": REASONING_TOKENS,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _text(message: dict) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(content or "")


def _tool_call(name: str, arguments: dict) -> dict:
    return {
        "id": f"call_{name}_{time.monotonic_ns()}",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)},
    }


def _message(body: dict) -> tuple[dict, str]:
    tools = [tool["function"] for tool in body.get("tools") or [] if tool.get("type") == "function"]
    if not tools:
        return {"role": "assistant", "content": "Hello from the fake provider.", "refusal": None}, "stop"
    messages = body.get("messages") or []
    # a tool's result came back: OpenAI's `tool` role, or smolagents' "Observation:" user message
    answered = any(
        m.get("role") == "tool" or (m.get("role") == "user" and "Observation:" in _text(m)) for m in messages
    )
    others = [tool for tool in tools if tool["name"] != "final_answer"]
    if others and not answered:
        tool = others[0]
        required = (tool.get("parameters") or {}).get("required") or []
        call = _tool_call(tool["name"], {name: "A-1" for name in required})
    else:
        call = _tool_call("final_answer", {"answer": "Order A-1 ships tomorrow."})
    return {"role": "assistant", "content": None, "refusal": None, "tool_calls": [call]}, "tool_calls"


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802 — http.server's name
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._answer(404, {"error": {"message": "Unknown path", "type": "invalid_request_error"}})
            return
        if any(FAIL in _text(message) for message in body.get("messages") or []):
            self._answer(
                429,
                {
                    "error": {
                        "message": ERROR_MESSAGE,
                        "type": "tokens",
                        "param": None,
                        "code": "rate_limit_exceeded",
                    }
                },
            )
            return
        model = str(body.get("model") or "gpt-4o-mini")
        message, finish = _message(body)
        self._answer(
            200,
            {
                "id": f"chatcmpl-{time.monotonic_ns()}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": DATED.get(model, model),
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
                "usage": usage(),
                "service_tier": "default",
                "system_fingerprint": "fp_fake0000",
            },
        )


class FakeOpenAI:
    """`with FakeOpenAI() as fake:` serves on a free port; `fake.base_url` ends in /v1."""

    handler: type[BaseHTTPRequestHandler] = _Handler
    base_path = "/v1"  # what the SDK's base_url carries (OpenAI's includes /v1)

    def __enter__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.server.server_port}{self.base_path}"
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
