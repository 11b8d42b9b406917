"""A real OpenID provider (the npm package oidc-provider, tests/sso/oidc_provider.mjs) for the session,
on 127.0.0.1, with signing keys the tests hold too (to craft tokens it would never issue)."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import time
from urllib.parse import parse_qs, urljoin, urlparse

import pytest
import requests
from django.conf import settings as django_settings
from joserfc.jwk import RSAKey

from dashboard.accounts import oidc
from dashboard.dynamo import local

SCRIPT = django_settings.BASE_DIR / "tests" / "sso" / "oidc_provider.mjs"
CLIENT_ID, CLIENT_SECRET = "dashboard", "dashboard-secret"


@pytest.fixture(scope="session")
def oidc_provider(web_server, tmp_path_factory):
    if not (django_settings.BASE_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.skip("npm package oidc-provider missing: run `npm ci`")
    key = RSAKey.generate_key(2048, parameters={"kid": "test-signing-key", "use": "sig", "alg": "RS256"})
    port = local.free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "REDIRECT_URIS": f"{web_server}/login/sso/callback/,http://testserver/login/sso/callback/",
        "JWKS": json.dumps({"keys": [key.as_dict(private=True)]}),
    }
    log = (tmp_path_factory.mktemp("oidc") / "provider.log").open("w")
    process = subprocess.Popen(["node", str(SCRIPT)], env=env, stdout=log, stderr=subprocess.STDOUT)
    issuer = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(f"{issuer}/.well-known/openid-configuration", timeout=2).raise_for_status()
            break
        except requests.RequestException:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError(f"oidc-provider did not start; see {log.name}") from None
            time.sleep(0.2)
    yield {"issuer": issuer, "key": key}
    process.terminate()
    process.wait(10)
    log.close()


@pytest.fixture
def sso(settings, oidc_provider, people):
    """SSO configured against the test provider (each test adds what it needs: linking, creating)."""
    settings.OIDC_ISSUER = oidc_provider["issuer"]
    settings.OIDC_CLIENT_ID = CLIENT_ID
    settings.OIDC_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_SCOPES = "openid email profile dashboard"
    settings.OIDC_ALLOWED_DOMAINS = []
    settings.OIDC_LINK_BY_EMAIL = False
    settings.OIDC_CREATE_USERS = False
    settings.OIDC_ROLE_CLAIM = ""
    settings.OIDC_TENANT_CLAIM = ""
    settings.OIDC_DEFAULT_ROLE = "tenant_admin"
    settings.OIDC_DEFAULT_TENANT = ""
    oidc._cache.clear()
    yield oidc_provider
    oidc._cache.clear()


def sign_in_at_provider(authorization_url: str, login: str, redirect_prefix: str) -> str:
    """Go through the provider's development login form as `login` (no browser) and return the
    callback URL it sends the browser back to (with code and state)."""
    browser = requests.Session()
    url = authorization_url
    for _ in range(12):
        response = browser.get(url, allow_redirects=False, timeout=10)
        if response.status_code == 200 and "/interaction/" in url:
            action = html.unescape(re.search(r'<form[^>]* action="([^"]+)"', response.text).group(1))
            response = browser.post(
                urljoin(url, action),
                data={"prompt": "login", "login": login, "password": "any"},
                allow_redirects=False,
                timeout=10,
            )
        location = response.headers.get("Location")
        assert location, f"the provider stopped at {url} ({response.status_code})"
        url = urljoin(url, location)
        if url.startswith(redirect_prefix):
            return url
    raise AssertionError("the provider never sent the browser back")


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlparse(url).query).items()}
