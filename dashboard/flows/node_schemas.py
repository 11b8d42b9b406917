"""The node types a studio flow may contain: each one's JSON Schema (draft 2020-12), defaults and UI metadata.

The schema is the single source of truth for a node's configuration: labels come from `title`, help
text from `description`, defaults from `default`. `UI` adds what a schema cannot say: field order,
widget hints, placeholders, friendlier wording for patterns, and which fields are secrets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _schema(name: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": f"https://schemas.diatonic.ai/flow-nodes/{name}.json",
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _retry(default_attempts: int) -> dict[str, Any]:
    return {
        "type": "object",
        "title": "Retries",
        "description": "What to do when a call fails with a temporary error.",
        "properties": {
            "max_attempts": {
                "type": "integer",
                "title": "Max attempts",
                "description": "0 turns retries off.",
                "minimum": 0,
                "maximum": 10,
                "default": default_attempts,
            },
            "backoff_seconds": {
                "type": "number",
                "title": "Backoff (seconds)",
                "description": "Wait before the first retry; doubles on each further attempt.",
                "minimum": 0,
                "maximum": 60,
                "default": 1.0,
            },
        },
        "required": ["max_attempts"],
        "additionalProperties": False,
    }


def _auth(title: str, schemes: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "title": title,
        "description": "Credentials sent with each call. Secrets are stored, never shown again.",
        "properties": {
            "scheme": {
                "type": "string",
                "title": "Scheme",
                "enum": schemes,
                "default": "none",
            },
            "token": {
                "type": "string",
                "title": "Token",
                "description": "Leave blank to keep the stored token.",
                "minLength": 8,
                "maxLength": 512,
            },
        },
        "required": ["scheme"],
        "additionalProperties": False,
    }


IDENTIFIER = "^[A-Za-z_][A-Za-z0-9_]*$"

SCHEMAS: dict[str, dict[str, Any]] = {
    "llm": _schema(
        "llm",
        {
            "provider": {
                "type": "string",
                "title": "Provider",
                "enum": ["openai", "anthropic", "bedrock", "azure_openai"],
                "default": "openai",
            },
            "model": {
                "type": "string",
                "title": "Model",
                "description": "The provider's model id, e.g. gpt-4o-mini or claude-3-5-haiku.",
                "minLength": 1,
                "maxLength": 100,
                "default": "gpt-4o-mini",
            },
            "temperature": {
                "type": "number",
                "title": "Temperature",
                "description": "0 answers the same way every time; higher values vary more.",
                "minimum": 0,
                "maximum": 2,
                "default": 0.7,
            },
            "max_tokens": {
                "type": "integer",
                "title": "Max output tokens",
                "minimum": 1,
                "maximum": 32000,
                "default": 1024,
            },
            "top_p": {
                "type": "number",
                "title": "Top p",
                "description": "Nucleus sampling; leave at 1 unless you know you need it.",
                "minimum": 0,
                "maximum": 1,
                "default": 1.0,
            },
            "system_prompt": {
                "type": "string",
                "title": "System prompt",
                "maxLength": 8000,
                "default": "",
            },
            "stop": {
                "type": "array",
                "title": "Stop sequences",
                "description": "One per line; generation stops at the first one met.",
                "items": {"type": "string", "minLength": 1, "maxLength": 50},
                "maxItems": 4,
                "default": [],
            },
            "stream": {
                "type": "boolean",
                "title": "Stream tokens",
                "description": "Send tokens to the next node as they arrive.",
                "default": False,
            },
            "api_key": {
                "type": "string",
                "title": "API key",
                "description": "Overrides the tenant's key for this provider. Leave blank to keep the stored key.",
                "minLength": 8,
                "maxLength": 256,
            },
            "retry": _retry(2),
        },
        ["provider", "model", "temperature", "max_tokens"],
    ),
    "prompt": _schema(
        "prompt",
        {
            "role": {
                "type": "string",
                "title": "Role",
                "enum": ["system", "user", "assistant"],
                "default": "user",
            },
            "template": {
                "type": "string",
                "title": "Template",
                "description": "Use {{name}} for variables.",
                "minLength": 1,
                "maxLength": 20000,
                "default": "Answer the question: {{question}}",
            },
            "variables": {
                "type": "array",
                "title": "Variables",
                "description": "One name per line, letters, digits and underscores.",
                "items": {"type": "string", "pattern": IDENTIFIER, "maxLength": 64},
                "uniqueItems": True,
                "maxItems": 20,
                "default": ["question"],
            },
            "strip_whitespace": {
                "type": "boolean",
                "title": "Trim whitespace",
                "description": "Remove leading and trailing blank space after filling variables.",
                "default": True,
            },
        },
        ["role", "template"],
    ),
    "tool": _schema(
        "tool",
        {
            "name": {
                "type": "string",
                "title": "Tool name",
                "description": "The function name the model calls.",
                "pattern": "^[a-z][a-z0-9_]*$",
                "maxLength": 64,
                "default": "search_knowledge_base",
            },
            "description": {
                "type": "string",
                "title": "Description",
                "description": "Tells the model when to use this tool.",
                "maxLength": 500,
                "default": "",
            },
            "timeout_seconds": {
                "type": "integer",
                "title": "Timeout (seconds)",
                "minimum": 1,
                "maximum": 300,
                "default": 30,
            },
            "max_calls": {
                "type": "integer",
                "title": "Max calls per run",
                "minimum": 1,
                "maximum": 50,
                "default": 5,
            },
            "requires_approval": {
                "type": "boolean",
                "title": "Ask a person first",
                "description": "Pause the run until someone approves each call.",
                "default": False,
            },
            "auth": _auth("Authentication", ["none", "api_key", "bearer"]),
        },
        ["name", "timeout_seconds"],
    ),
    "http_request": _schema(
        "http_request",
        {
            "method": {
                "type": "string",
                "title": "Method",
                "enum": ["GET", "POST", "PUT", "PATCH", "DELETE"],
                "default": "GET",
            },
            "url": {
                "type": "string",
                "title": "URL",
                "description": "May use {{variables}} from earlier nodes.",
                "pattern": "^https?://[^\\s]+$",
                "maxLength": 2000,
                "default": "https://api.example.com/v1/items",
            },
            "headers": {
                "type": "array",
                "title": "Headers",
                "description": "One “Name: value” per line.",
                "items": {"type": "string", "pattern": "^[A-Za-z0-9-]+: .+$"},
                "maxItems": 20,
                "default": [],
            },
            "body_template": {
                "type": "string",
                "title": "Body template",
                "maxLength": 20000,
                "default": "",
            },
            "timeout_seconds": {
                "type": "integer",
                "title": "Timeout (seconds)",
                "minimum": 1,
                "maximum": 120,
                "default": 30,
            },
            "follow_redirects": {
                "type": "boolean",
                "title": "Follow redirects",
                "default": True,
            },
            "retry": _retry(3),
            "auth": _auth("Authentication", ["none", "bearer", "basic"]),
        },
        ["method", "url", "timeout_seconds"],
    ),
    "retriever": _schema(
        "retriever",
        {
            "index": {
                "type": "string",
                "title": "Index",
                "description": "The vector index to search.",
                "pattern": "^[a-z0-9][a-z0-9-]*$",
                "maxLength": 64,
                "default": "knowledge-base",
            },
            "search_type": {
                "type": "string",
                "title": "Search type",
                "enum": ["similarity", "mmr", "hybrid"],
                "default": "similarity",
            },
            "top_k": {
                "type": "integer",
                "title": "Results (top k)",
                "minimum": 1,
                "maximum": 50,
                "default": 5,
            },
            "min_score": {
                "type": "number",
                "title": "Minimum score",
                "description": "Drop results scoring below this (0–1).",
                "minimum": 0,
                "maximum": 1,
                "default": 0.5,
            },
            "embedding_model": {
                "type": "string",
                "title": "Embedding model",
                "enum": ["text-embedding-3-small", "text-embedding-3-large", "titan-embed-v2"],
                "default": "text-embedding-3-small",
            },
            "filters": {
                "type": "array",
                "title": "Metadata filters",
                "description": "One “field=value” per line; all must match.",
                "items": {"type": "string", "pattern": "^[A-Za-z0-9_.]+=.+$"},
                "maxItems": 10,
                "default": [],
            },
            "rerank": {
                "type": "boolean",
                "title": "Rerank results",
                "default": False,
            },
        },
        ["index", "top_k"],
    ),
    "condition": _schema(
        "condition",
        {
            "expression": {
                "type": "string",
                "title": "Expression",
                "description": "Evaluated against the previous node's output, e.g. output.confidence > 0.7.",
                "minLength": 1,
                "maxLength": 1000,
                "default": "output.confidence > 0.5",
            },
            "true_label": {
                "type": "string",
                "title": "Label when true",
                "minLength": 1,
                "maxLength": 40,
                "default": "yes",
            },
            "false_label": {
                "type": "string",
                "title": "Label when false",
                "minLength": 1,
                "maxLength": 40,
                "default": "no",
            },
            "on_error": {
                "type": "string",
                "title": "If the expression fails",
                "enum": ["take_false_branch", "stop_run"],
                "default": "take_false_branch",
            },
        },
        ["expression"],
    ),
    "code": _schema(
        "code",
        {
            "language": {
                "type": "string",
                "title": "Language",
                "enum": ["python", "javascript"],
                "default": "python",
            },
            "source": {
                "type": "string",
                "title": "Source",
                "description": "Defines run(inputs) and returns the node's output.",
                "minLength": 1,
                "maxLength": 50000,
                "default": "def run(inputs):\n    return inputs\n",
            },
            "timeout_seconds": {
                "type": "integer",
                "title": "Timeout (seconds)",
                "minimum": 1,
                "maximum": 60,
                "default": 10,
            },
            "memory_mb": {
                "type": "integer",
                "title": "Memory (MB)",
                "enum": [128, 256, 512, 1024, 2048],
                "default": 256,
            },
            "packages": {
                "type": "array",
                "title": "Packages",
                "description": "One per line, optionally pinned: requests==2.32.3.",
                "items": {"type": "string", "pattern": "^[A-Za-z0-9_.-]+(==[A-Za-z0-9_.-]+)?$"},
                "uniqueItems": True,
                "maxItems": 20,
                "default": [],
            },
        },
        ["language", "source"],
    ),
    "output": _schema(
        "output",
        {
            "format": {
                "type": "string",
                "title": "Format",
                "enum": ["text", "markdown", "json"],
                "default": "markdown",
            },
            "max_length": {
                "type": "integer",
                "title": "Max length (characters)",
                "minimum": 1,
                "maximum": 100000,
                "default": 4000,
            },
            "include_metadata": {
                "type": "boolean",
                "title": "Include run metadata",
                "description": "Adds token counts, cost and timings to the output.",
                "default": False,
            },
            "webhook_url": {
                "type": "string",
                "title": "Webhook URL",
                "description": "Optional: also POST the output here.",
                "pattern": "^https://[^\\s]+$",
                "maxLength": 2000,
            },
            "webhook_secret": {
                "type": "string",
                "title": "Webhook signing secret",
                "description": "Signs webhook calls. Leave blank to keep the stored secret.",
                "minLength": 16,
                "maxLength": 256,
            },
        },
        ["format"],
    ),
}

NODE_TYPES: tuple[str, ...] = tuple(SCHEMAS)


@dataclass(frozen=True)
class NodeTypeUI:
    """What a form needs beyond the schema. Field names are dotted paths (`retry.max_attempts`)."""

    label: str
    description: str
    icon: str
    order: tuple[str, ...]
    secrets: tuple[str, ...] = ()
    widgets: dict[str, str] = field(default_factory=dict)  # textarea | code | password | select
    placeholders: dict[str, str] = field(default_factory=dict)
    pattern_messages: dict[str, str] = field(default_factory=dict)


UI: dict[str, NodeTypeUI] = {
    "llm": NodeTypeUI(
        label="LLM call",
        description="Sends the conversation to a large language model and passes on its answer.",
        icon="✦",
        order=(
            "provider",
            "model",
            "temperature",
            "max_tokens",
            "top_p",
            "system_prompt",
            "stop",
            "stream",
            "api_key",
            "retry.max_attempts",
            "retry.backoff_seconds",
        ),
        secrets=("api_key",),
        widgets={"system_prompt": "textarea", "stop": "textarea"},
        placeholders={"system_prompt": "You are a helpful assistant…", "api_key": "sk-…"},
    ),
    "prompt": NodeTypeUI(
        label="Prompt",
        description="Fills a message template with variables from the run.",
        icon="✎",
        order=("role", "template", "variables", "strip_whitespace"),
        widgets={"template": "textarea", "variables": "textarea"},
        pattern_messages={
            "variables": "Use letters, digits and underscores only, not starting with a digit."
        },
    ),
    "tool": NodeTypeUI(
        label="Tool",
        description="Lets the model call one of the tenant's registered functions.",
        icon="⚒",
        order=(
            "name",
            "description",
            "timeout_seconds",
            "max_calls",
            "requires_approval",
            "auth.scheme",
            "auth.token",
        ),
        secrets=("auth.token",),
        widgets={"description": "textarea"},
        pattern_messages={"name": "Use lower-case letters, digits and underscores, starting with a letter."},
    ),
    "http_request": NodeTypeUI(
        label="HTTP request",
        description="Calls an external HTTP API and passes on the response.",
        icon="⇅",
        order=(
            "method",
            "url",
            "headers",
            "body_template",
            "timeout_seconds",
            "follow_redirects",
            "retry.max_attempts",
            "retry.backoff_seconds",
            "auth.scheme",
            "auth.token",
        ),
        secrets=("auth.token",),
        widgets={"headers": "textarea", "body_template": "code"},
        placeholders={"url": "https://api.example.com/v1/…", "headers": "Accept: application/json"},
        pattern_messages={
            "url": "Enter a full http:// or https:// address without spaces.",
            "headers": "Write each header as “Name: value”.",
        },
    ),
    "retriever": NodeTypeUI(
        label="Retriever",
        description="Finds the passages of a vector index closest to the question.",
        icon="⌕",
        order=("index", "search_type", "top_k", "min_score", "embedding_model", "filters", "rerank"),
        widgets={"filters": "textarea"},
        placeholders={"filters": "lang=en"},
        pattern_messages={
            "index": "Use lower-case letters, digits and dashes.",
            "filters": "Write each filter as “field=value”.",
        },
    ),
    "condition": NodeTypeUI(
        label="Condition",
        description="Sends the run down one of two branches.",
        icon="⋔",
        order=("expression", "true_label", "false_label", "on_error"),
    ),
    "code": NodeTypeUI(
        label="Code",
        description="Runs a short sandboxed function on the run's data.",
        icon="⌘",
        order=("language", "source", "timeout_seconds", "memory_mb", "packages"),
        widgets={"source": "code", "packages": "textarea"},
        pattern_messages={"packages": "Write a package name, optionally pinned as name==1.2.3."},
    ),
    "output": NodeTypeUI(
        label="Output",
        description="Formats the final answer and optionally posts it to a webhook.",
        icon="⇥",
        order=("format", "max_length", "include_metadata", "webhook_url", "webhook_secret"),
        secrets=("webhook_secret",),
        placeholders={"webhook_url": "https://hooks.example.com/…"},
        pattern_messages={"webhook_url": "Enter a full https:// address without spaces."},
    ),
}
