"""Production settings as a fresh process reads them from the environment."""

import json
import os
import subprocess
import sys

from django.conf import settings

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "a-long-random-production-secret-0123456789-ABCDEFGHIJ",
    "ALLOWED_HOSTS": "dashboard.diatonic.ai",
}


def start(code: str, **env) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dashboard.settings", **PRODUCTION, **env}
    full_env = {name: value for name, value in full_env.items() if value is not None}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, env=full_env, capture_output=True, text=True
    )


def production_settings(**env) -> dict:
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'exempt': s.SECURE_REDIRECT_EXEMPT, 'session_secure': s.SESSION_COOKIE_SECURE, "
        "'csrf_secure': s.CSRF_COOKIE_SECURE, 'storage': s.STORAGES['staticfiles']['BACKEND'], "
        "'static_root': str(s.STATIC_ROOT)}))"
    )
    full_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dashboard.settings", **PRODUCTION, **env}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, env=full_env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_production_serves_hashed_compressed_static_files_from_outside_git():
    values = production_settings()
    assert values["storage"] == "dashboard.core.storage.StaticFilesStorage"  # whitenoise's, manifest apart
    assert values["static_root"].endswith(".cache/staticfiles")


def test_health_probes_are_exempt_from_the_https_redirect():
    # /metrics too: Prometheus scrapes it over the private network, where the balancer adds no TLS.
    assert production_settings()["exempt"] == [r"^healthz$", r"^readyz$", r"^metrics$"]


def test_cookies_are_secure_in_production_unless_switched_off_for_local_http():
    assert production_settings()["session_secure"] is True
    assert production_settings()["csrf_secure"] is True
    local_http = production_settings(SECURE_COOKIES="false")
    assert local_http["session_secure"] is False
    assert local_http["csrf_secure"] is False


SETUP = "import django; django.setup()"


def test_production_refuses_to_start_with_the_public_development_key():
    result = start(SETUP, SECRET_KEY=None)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY is not fit for production: it is the public development key" in result.stderr


def test_production_refuses_a_short_or_repetitive_key():
    short = start(SETUP, SECRET_KEY="a-short-but-random-looking-key-7f3k2")
    assert short.returncode != 0 and "shorter than 50 characters" in short.stderr
    repetitive = start(SETUP, SECRET_KEY="abab" * 20)
    assert repetitive.returncode != 0 and "fewer than 5 distinct characters" in repetitive.stderr


def test_old_keys_are_read_for_rotation_and_must_be_strong_too():
    old = "an-older-long-random-production-secret-9876543210-ZYXWVUTSRQ"
    code = SETUP + "; from django.conf import settings as s; print(s.SECRET_KEY_FALLBACKS)"
    result = start(code, SECRET_KEY_FALLBACKS=f"{old}, ")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == repr([old])
    weak = start(SETUP, SECRET_KEY_FALLBACKS="old-and-short")
    assert weak.returncode != 0 and "SECRET_KEY_FALLBACKS[0] is not fit for production" in weak.stderr


def test_check_deploy_flags_the_public_development_key():
    code = "import sys; from django.core.management import execute_from_command_line as run; " + (
        "run(['manage.py', 'check', '--deploy'])"
    )
    result = start(code, DEBUG=None, SECRET_KEY=None, DYNAMODB_ENDPOINT_URL="")
    assert result.returncode != 0
    assert "core.E001" in result.stderr and "public development key" in result.stderr


def test_debug_is_off_by_default_where_a_secret_key_is_set():
    code = SETUP + "; from django.conf import settings as s; print(s.DEBUG)"
    assert start(code, DEBUG=None).stdout.strip() == "False"  # PRODUCTION sets SECRET_KEY
    assert start(code, DEBUG=None, SECRET_KEY=None).stdout.strip() == "True"  # a laptop
    assert start(code, DEBUG="true").stdout.strip() == "True"
