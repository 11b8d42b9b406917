"""Keywords of a template for the search-token index, and the words of a search query.

Words are lower-cased, split on anything not a letter or digit, stripped of a plural “s” and of
common stop words. Name and tags come first, so when a long description meets the cap the
words that matter most are kept (each token item takes one place in the template's transactions).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_TOKENS = 45  # an edit may delete 45 old and put 45 new items in one 100-item transaction
MAX_QUERY_WORDS = 5
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "with",
        "your",
        "you",
    ]
)
_WORD = re.compile(r"[a-z0-9]+")


def normalise(word: str) -> str:
    if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def words(text: str) -> list[str]:
    found = []
    for word in _WORD.findall(text.lower()):
        if len(word) < 2 or word in STOP_WORDS:
            continue
        found.append(normalise(word))
    return found


def template_tokens(name: str, description: str, tags: Iterable[str]) -> set[str]:
    ordered: list[str] = []
    for word in [*words(name), *(w for tag in sorted(tags) for w in words(tag)), *words(description)]:
        if word not in ordered:
            ordered.append(word)
    return set(ordered[:MAX_TOKENS])


def query_words(query: str) -> list[str]:
    unique: list[str] = []
    for word in words(query):
        if word not in unique:
            unique.append(word)
    return unique[:MAX_QUERY_WORDS]
