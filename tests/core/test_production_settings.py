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
    assert values["storage"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    assert values["static_root"].endswith(".cache/staticfiles")


def test_health_probes_are_exempt_from_the_https_redirect():
    assert production_settings()["exempt"] == [r"^healthz$", r"^readyz$"]


def test_cookies_are_secure_in_production_unless_switched_off_for_local_http():
    assert production_settings()["session_secure"] is True
    assert production_settings()["csrf_secure"] is True
    local_http = production_settings(SECURE_COOKIES="false")
    assert local_http["session_secure"] is False
    assert local_http["csrf_secure"] is False
