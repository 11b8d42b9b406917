"""The node types a studio flow may contain. Issue #7 adds each type's JSON Schema and UI metadata here."""

NODE_TYPES: tuple[str, ...] = ("llm", "prompt", "tool", "http_request", "retriever", "condition", "code", "output")
