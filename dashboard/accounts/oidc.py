"""OpenID Connect single sign-on, the protocol half (Authlib for the authorization-code flow with
PKCE, joserfc for the ID token): discovery, the authorization request, the code exchange and the
ID token's checks (signature by a key of the provider's JWKS, issuer, audience, expiry, nonce).
Who the verified identity is in the dashboard is decided in services.sso_sign_in.

Configured from the environment (settings.OIDC_*); with no OIDC_ISSUER there is no SSO.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from typing import Any

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from django.conf import settings
from joserfc import jwt
from joserfc.errors import ClaimError, ExpiredTokenError, JoseError, MissingClaimError
from joserfc.jwk import KeySet

ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]
METADATA_SECONDS = 3600  # discovery and keys are re-read hourly (and keys at once on an unknown kid)
PENDING_SECONDS = 600  # how long a sign-in may take at the provider
_lock = threading.Lock()
_cache: dict[str, tuple[float, Any]] = {}


class SsoFailed(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def configured() -> bool:
    return bool(settings.OIDC_ISSUER and settings.OIDC_CLIENT_ID)


def _get_json(url: str) -> dict:
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        return response.json()
    except (requests.RequestException, ValueError) as exc:
        raise SsoFailed(
            "The single sign-on provider cannot be reached right now; try again shortly."
        ) from exc


def _cached(key: str, read, refresh: bool = False):
    with _lock:
        hit = _cache.get(key)
    if hit and not refresh and time.monotonic() - hit[0] < METADATA_SECONDS:
        return hit[1]
    value = read()
    with _lock:
        _cache[key] = (time.monotonic(), value)
    return value


def metadata() -> dict:
    issuer = settings.OIDC_ISSUER.rstrip("/")

    def read() -> dict:
        found = _get_json(f"{issuer}/.well-known/openid-configuration")
        if found.get("issuer", "").rstrip("/") != issuer:
            raise SsoFailed("The single sign-on provider answered for another issuer: check OIDC_ISSUER.")
        return found

    return _cached(f"metadata:{issuer}", read)


def _keys(refresh: bool = False) -> KeySet:
    uri = metadata()["jwks_uri"]
    return _cached(f"jwks:{uri}", lambda: KeySet.import_key_set(_get_json(uri)), refresh)


def _session(redirect_uri: str) -> OAuth2Session:
    return OAuth2Session(
        settings.OIDC_CLIENT_ID,
        settings.OIDC_CLIENT_SECRET or None,
        scope=settings.OIDC_SCOPES,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        default_timeout=settings.OIDC_TIMEOUT,
    )


def start(redirect_uri: str) -> tuple[str, dict]:
    """The provider's authorization URL and what the session keeps until the callback: state,
    nonce and the PKCE verifier (all random, used once)."""
    pending = {
        "state": secrets.token_urlsafe(24),
        "nonce": secrets.token_urlsafe(24),
        "verifier": generate_token(64),
        "at": int(time.time()),
    }
    url, _state = _session(redirect_uri).create_authorization_url(
        metadata()["authorization_endpoint"],
        state=pending["state"],
        nonce=pending["nonce"],
        code_verifier=pending["verifier"],
    )
    return url, pending


def finish(redirect_uri: str, pending: dict | None, params: dict[str, str]) -> dict:
    """The verified ID token claims of the sign-in the provider sent back, or SsoFailed. `pending`
    is what `start` gave (already removed from the session: a replayed callback finds none)."""
    if not isinstance(pending, dict) or not isinstance(pending.get("state"), str):
        raise SsoFailed("This sign-in was not started here or was used already. Start again.")
    if not hmac.compare_digest(str(params.get("state", "")), pending["state"]):
        raise SsoFailed("This sign-in was not started here or was used already. Start again.")
    if time.time() - int(pending.get("at") or 0) > PENDING_SECONDS:
        raise SsoFailed("This sign-in took too long. Start again.")
    if params.get("error"):
        raise SsoFailed(f"The provider did not sign you in ({str(params['error'])[:80]}).")
    code = params.get("code")
    if not code or len(code) > 2000:
        raise SsoFailed("The provider sent no sign-in code. Start again.")
    try:
        token = _session(redirect_uri).fetch_token(
            metadata()["token_endpoint"],
            grant_type="authorization_code",
            code=code,
            code_verifier=pending["verifier"],
        )
    except (OAuthError, requests.RequestException, ValueError) as exc:
        raise SsoFailed("The provider refused the sign-in code. Start again.") from exc
    if not token.get("id_token"):
        raise SsoFailed("The provider sent no ID token: check that OIDC_SCOPES includes openid.")
    claims = verify_id_token(token["id_token"], pending["nonce"])
    if "email" not in claims and metadata().get("userinfo_endpoint"):
        claims = {**_userinfo(redirect_uri, token), **claims}
    return claims


def _userinfo(redirect_uri: str, token: dict) -> dict:
    """Profile claims a provider keeps out of the ID token (OpenID Connect Core 5.4: with the code flow
    they come from the UserInfo endpoint); the ID token's own claims still win, and the subject must
    be the same."""
    session = _session(redirect_uri)
    session.token = token
    try:
        response = session.get(metadata()["userinfo_endpoint"], timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        info = response.json()
    except (OAuthError, requests.RequestException, ValueError) as exc:
        raise SsoFailed("The provider's profile could not be read; try again shortly.") from exc
    if not isinstance(info, dict):
        raise SsoFailed("The provider's profile could not be read; try again shortly.")
    return {key: value for key, value in info.items() if key not in PROTOCOL_CLAIMS}


PROTOCOL_CLAIMS = {"iss", "sub", "aud", "exp", "iat", "nbf", "nonce", "azp", "auth_time", "at_hash", "c_hash"}


NOBODY = "nobody was signed in. Start again; if it keeps happening, tell your admin."
CLAIM_PROBLEMS = {
    "iss": "was issued by another provider (issuer)",
    "aud": "was issued to another client (audience)",
    "nonce": "belongs to another sign-in (nonce): a replayed token",
    "exp": "has an invalid expiry",
    "iat": "has no valid issue time",
    "sub": "names nobody (subject)",
}


def _refusal(exc: Exception) -> str:
    """Which check an ID token failed, in words (who crafted it knows; an admin fixing the
    configuration needs to)."""
    if isinstance(exc, ExpiredTokenError):
        problem = "has expired (check this server's clock if it happens often)"
    elif isinstance(exc, MissingClaimError):
        problem = f"lacks its {exc.claim} claim"
    elif isinstance(exc, ClaimError):
        problem = CLAIM_PROBLEMS.get(exc.claim, f"has an invalid {exc.claim} claim")
    else:
        problem = "is not signed by the provider's keys (signature or algorithm refused)"
    return f"The provider's ID token {problem}; {NOBODY}"


def verify_id_token(id_token: str, nonce: str) -> dict:
    """The claims of an ID token signed by the provider, for this client, not expired, with this nonce."""
    try:
        try:
            token = jwt.decode(id_token, _keys(), algorithms=ALGORITHMS)
        except (JoseError, ValueError):
            token = jwt.decode(id_token, _keys(refresh=True), algorithms=ALGORITHMS)  # keys rotated?
        jwt.JWTClaimsRegistry(
            leeway=60,
            iss={"essential": True, "value": metadata()["issuer"]},
            aud={"essential": True, "value": settings.OIDC_CLIENT_ID},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        ).validate(token.claims)
    except (JoseError, ValueError) as exc:
        raise SsoFailed(_refusal(exc)) from exc
    claims = dict(token.claims)
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != settings.OIDC_CLIENT_ID:
        raise SsoFailed(f"The provider's ID token was issued to another client (azp); {NOBODY}")
    return claims
