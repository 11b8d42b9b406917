"""Search words, a pure domain rule the writes (a template's tokens) and the reads (a query's words)
share: lower-cased, split on anything not a letter or digit, stripped of a plural "s" and of common
stop words, spelled the American way. Name and tags come first, so when a long description meets the
cap the words that matter most are kept (each token item takes one place in the template's
transactions).
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
MIN_PREFIX = 3  # "refu" finds "Refund assistant"; shorter prefixes would match nearly everything

# British spellings folded onto the American ones, at indexing and at query time alike, so either
# spelling finds both. A stem table (not suffix rules): "tour", "hour" or "rise" must stay as they are.
SPELLING_STEMS = {
    "analys": "analyz",
    "authoris": "authoriz",
    "behaviour": "behavior",
    "cancell": "cancel",
    "catalogu": "catalog",
    "categoris": "categoriz",
    "centre": "center",
    "colour": "color",
    "customis": "customiz",
    "favour": "favor",
    "finalis": "finaliz",
    "flavour": "flavor",
    "honour": "honor",
    "labour": "labor",
    "licenc": "licens",
    "maximis": "maximiz",
    "minimis": "minimiz",
    "modell": "model",
    "neighbour": "neighbor",
    "normalis": "normaliz",
    "optimis": "optimiz",
    "organis": "organiz",
    "paralys": "paralyz",
    "personalis": "personaliz",
    "prioritis": "prioritiz",
    "recognis": "recogniz",
    "standardis": "standardiz",
    "summaris": "summariz",
    "synchronis": "synchroniz",
    "tokenis": "tokeniz",
    "utilis": "utiliz",
    "visualis": "visualiz",
}
_STEMS_LONGEST_FIRST = sorted(SPELLING_STEMS.items(), key=lambda pair: -len(pair[0]))


def american(word: str) -> str:
    for british, us in _STEMS_LONGEST_FIRST:
        if word.startswith(british):
            return us + word[len(british) :]
    return word


def normalise(word: str) -> str:
    word = american(word)
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


def prefixes(word: str) -> list[str]:
    return [word[:end] for end in range(MIN_PREFIX, len(word))]


def template_tokens(name: str, description: str, tags: Iterable[str]) -> set[str]:
    """The words a search finds a template by: whole words first, then the prefixes of the name's
    and tags' words, then the description's, up to MAX_TOKENS (one edit's transaction must hold
    the old and the new tokens)."""
    name_words = words(name)
    tag_words = [w for tag in sorted(tags) for w in words(tag)]
    description_words = words(description)
    ordered: list[str] = []
    candidates = [
        *name_words,
        *tag_words,
        *description_words,
        *(p for w in name_words for p in prefixes(w)),
        *(p for w in tag_words for p in prefixes(w)),
        *(p for w in description_words for p in prefixes(w)),
    ]
    for word in candidates:
        if word not in ordered:
            ordered.append(word)
        if len(ordered) == MAX_TOKENS:
            break
    return set(ordered)


def query_words(query: str) -> list[str]:
    unique: list[str] = []
    for word in words(query):
        if word not in unique:
            unique.append(word)
    return unique[:MAX_QUERY_WORDS]
