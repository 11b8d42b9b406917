"""Is the SECRET_KEY fit for production? Read by settings (before Django starts) and by a system check.

No Django imports at module level: settings import this file.
"""

from __future__ import annotations

# The key a laptop uses when none is set. It is public (it is in this repository): anything signed with
# it (sessions, cursors, known-device cookies) could be forged, so production refuses it.
DEVELOPMENT_KEY = "dev-only-insecure-key-change-me-in-production-0123456789"
MIN_LENGTH = 50
MIN_DISTINCT = 5


def key_problem(key: str) -> str | None:
    """Why `key` must not sign anything in production, or None when it may."""
    if not key:
        return "it is empty"
    if key == DEVELOPMENT_KEY or key.startswith("django-insecure-"):
        return "it is the public development key"
    if len(key) < MIN_LENGTH:
        return f"it is shorter than {MIN_LENGTH} characters"
    if len(set(key)) < MIN_DISTINCT:
        return f"it has fewer than {MIN_DISTINCT} distinct characters"
    return None


def production_problems(key: str, fallbacks: list[str]) -> list[str]:
    """One sentence per unfit key (SECRET_KEY, then each of SECRET_KEY_FALLBACKS)."""
    problems = []
    for name, value in [
        ("SECRET_KEY", key),
        *((f"SECRET_KEY_FALLBACKS[{i}]", v) for i, v in enumerate(fallbacks)),
    ]:
        problem = key_problem(value)
        if problem:
            problems.append(
                f"{name} is not fit for production: {problem}. Set it from the environment to a random "
                f"value of at least {MIN_LENGTH} characters, e.g. "
                '`python -c "import secrets; print(secrets.token_urlsafe(50))"`.'
            )
    return problems


def check_secret_key(app_configs=None, **kwargs) -> list:
    """System check (deploy tag): `manage.py check --deploy` names an unfit key."""
    from django.conf import settings
    from django.core.checks import Error

    return [
        Error(message, id="core.E001")
        for message in production_problems(settings.SECRET_KEY, list(settings.SECRET_KEY_FALLBACKS))
    ]
