"""Typed input values of accounts: e-mail addresses and passwords as people type them."""

from __future__ import annotations

import re

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import FieldDoesNotExist, ValidationError

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


MIN_PASSWORD_LENGTH = 12  # also in settings.AUTH_PASSWORD_VALIDATORS (MinimumLengthValidator)
MIN_DISTINCT_CHARACTERS = 5


class DistinctCharactersValidator:
    """Refuses passwords of a few characters repeated (twelve spaces, `abababababab`)."""

    def __init__(self, min_distinct: int = MIN_DISTINCT_CHARACTERS):
        self.min_distinct = min_distinct

    def validate(self, password: str, user=None) -> None:
        if len(set(password.strip())) < self.min_distinct:
            raise ValidationError(
                f"This password repeats too few characters: use at least {self.min_distinct} different ones.",
                code="password_too_repetitive",
            )

    def get_help_text(self) -> str:
        return f"Your password must use at least {self.min_distinct} different characters."


class _Person:
    """What Django's UserAttributeSimilarityValidator reads of a person (people are not Django models)."""

    class _meta:  # noqa: N801 — the name Django's validator looks up
        @staticmethod
        def get_field(name: str):
            raise FieldDoesNotExist(name)

    def __init__(self, email: str, name: str):
        self.email, self.name = email, name


def password_problem(password: str, email: str, name: str = "") -> str | None:
    """Why `password` may not be set for this person (settings.AUTH_PASSWORD_VALIDATORS), or None."""
    try:
        validate_password(password, _Person(email, name))
    except ValidationError as exc:
        return " ".join(exc.messages)
    return None


def normalize_email(email: str) -> str:
    return email.strip().lower()
