"""URL converters: ids in URLs are bounded before any view could look them up in DynamoDB.

DynamoDB refuses keys over 2,048 bytes (1,024 for a sort key) with a ValidationException — a 500
if it got that far. `<key:...>` matches at most 200 characters (≤ 800 bytes of UTF-8) without
control characters, so a longer or odd id is a plain 404 from the URL resolver.
"""

from __future__ import annotations

from django.urls import register_converter

MAX_ID_CHARS = 200


class KeyConverter:
    regex = r"[^/\x00-\x1f\x7f]{1,200}"  # MAX_ID_CHARS

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(KeyConverter, "key")


def fits_key(value: str | None) -> bool:
    """Whether `value` can be looked up as a DynamoDB key (ids from forms and query strings)."""
    return bool(value) and len(value) <= MAX_ID_CHARS and not any(ord(c) < 32 for c in value)
