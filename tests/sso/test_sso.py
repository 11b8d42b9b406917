"""Single sign-on against a real OpenID provider (oidc-provider on 127.0.0.1): who gets in, as whom,
and every forged or replayed answer refused."""

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client
from joserfc import jwt
from joserfc.jwk import RSAKey

from dashboard.accounts import oidc, queries, services
from dashboard.accounts.access import scope_for_user
from tests.conftest import PASSWORD, unique
from tests.sso.conftest import CLIENT_ID, query_of, sign_in_at_provider

CALLBACK = "http://testserver/login/sso/callback/"


def sso_sign_in(login: str, client: Client | None = None):
    """The whole flow with the test client as the browser: (client, the callback's response)."""
    client = client or Client()
    start = client.get("/login/sso/?next=/account/me/")
    assert start.status_code == 302
    back = sign_in_at_provider(start["Location"], login, CALLBACK)
    return client, client.get(back.replace("http://testserver", ""))


def signed_in_as(client: Client):
    response = client.get("/account/me/")
    return response.status_code == 200 and response.content.decode()


def test_the_authorization_request_uses_pkce_state_and_nonce(sso):
    start = Client().get("/login/sso/")
    query = {k: v[0] for k, v in parse_qs(urlparse(start["Location"]).query).items()}
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) >= 43
    assert query["state"] and query["nonce"] and query["client_id"] == CLIENT_ID
    assert query["scope"] == "openid email profile dashboard"


def test_a_first_sign_in_creates_the_account_with_the_claimed_role_and_tenant(sso, settings):
    settings.OIDC_CREATE_USERS = True
    settings.OIDC_ROLE_CLAIM, settings.OIDC_TENANT_CLAIM = "dashboard_role", "dashboard_tenant"
    login = unique("new").lower()
    client, response = sso_sign_in(login)
    assert response.status_code == 302 and response["Location"] == "/account/me/"
    user = queries.find_user_by_email(f"{login}@acme.test")
    assert (user.role, user.tenant_id, user.sso_subject) == (
        "tenant_admin",
        "acme",
        f"{sso['issuer']}#{login}",
    )
    assert signed_in_as(client)
    _again, response = sso_sign_in(login)  # matched by subject the next time: no second account
    assert response.status_code == 302 and len(list(queries.User.by_email.query(user.email))) == 1


def test_without_an_account_and_without_creating_nobody_gets_in(sso):
    client, response = sso_sign_in(unique("nobody").lower())
    assert response.status_code == 403 and "Ask your admin for an invitation" in response.content.decode()
    assert not signed_in_as(client)


def test_an_existing_account_is_linked_by_a_verified_email_when_configured(sso, settings):
    settings.OIDC_LINK_BY_EMAIL = True
    login = unique("link").lower()
    user = services.create_user(f"{login}@acme.test", PASSWORD, "tenant_admin", "acme")
    client, response = sso_sign_in(login)
    assert response.status_code == 302
    assert queries.get_user(user.user_id).sso_subject == f"{sso['issuer']}#{login}"
    assert user.email in signed_in_as(client)


def test_an_unverified_email_never_links(sso, settings):
    settings.OIDC_LINK_BY_EMAIL = True
    login = unique("unverified").lower()
    user = services.create_user(f"{login}@acme.test", PASSWORD, "tenant_admin", "acme")
    client, response = sso_sign_in(login)
    assert response.status_code == 403 and not signed_in_as(client)
    assert queries.get_user(user.user_id).sso_subject is None


def test_an_email_match_alone_does_not_sign_in_when_linking_is_off(sso):
    login = unique("nolink").lower()
    services.create_user(f"{login}@acme.test", PASSWORD, "tenant_admin", "acme")
    client, response = sso_sign_in(login)
    assert response.status_code == 403 and not signed_in_as(client)


def test_only_allowed_email_domains_sign_in(sso, settings):
    settings.OIDC_CREATE_USERS = True
    settings.OIDC_ALLOWED_DOMAINS = ["globex.test"]
    client, response = sso_sign_in(unique("dom").lower())  # an acme.test address
    assert response.status_code == 403 and "domain" in response.content.decode()
    client, response = sso_sign_in(unique("globex").lower())
    assert response.status_code == 302


def test_a_replayed_callback_is_refused(sso, settings):
    settings.OIDC_CREATE_USERS = True
    client = Client()
    start = client.get("/login/sso/")
    back = sign_in_at_provider(start["Location"], unique("rp").lower(), CALLBACK).replace(
        "http://testserver", ""
    )
    assert client.get(back).status_code == 302
    again = client.get(back)  # the same browser, the same state: its pending sign-in is gone
    assert again.status_code == 400 and "used already" in again.content.decode()
    assert Client().get(back).status_code == 400  # and from another browser there never was one


def test_a_callback_with_another_state_is_refused(sso, settings):
    settings.OIDC_CREATE_USERS = True
    client = Client()
    start = client.get("/login/sso/")
    back = sign_in_at_provider(start["Location"], unique("st").lower(), CALLBACK)
    query = query_of(back)
    response = client.get("/login/sso/callback/", {"code": query["code"], "state": "forged-state"})
    assert response.status_code == 400 and not signed_in_as(client)


def token(key, **overrides) -> str:
    now = int(time.time())
    claims = {
        "iss": oidc.metadata()["issuer"],
        "aud": CLIENT_ID,
        "sub": "sub-crafted",
        "iat": now,
        "exp": now + 300,
        "nonce": "n-1",
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


def test_a_token_signed_with_the_providers_key_for_this_client_passes(sso):
    assert oidc.verify_id_token(token(sso["key"]), "n-1")["sub"] == "sub-crafted"


@pytest.mark.parametrize(
    "overrides",
    [
        {"aud": "another-client"},
        {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200},
        {"iss": "http://127.0.0.1:1/evil"},
        {"nonce": "another-nonce"},
        {"nonce": None},
        {"exp": None},
        {"aud": [CLIENT_ID, "another-client"], "azp": "another-client"},
    ],
    ids=["wrong-audience", "expired", "wrong-issuer", "wrong-nonce", "no-nonce", "no-expiry", "other-azp"],
)
def test_a_token_failing_a_check_is_refused(sso, overrides):
    with pytest.raises(oidc.SsoFailed):
        oidc.verify_id_token(token(sso["key"], **overrides), "n-1")


def test_a_token_signed_by_another_key_is_refused(sso):
    stranger = RSAKey.generate_key(2048, parameters={"kid": sso["key"].kid})
    with pytest.raises(oidc.SsoFailed):
        oidc.verify_id_token(token(stranger), "n-1")


# --- crafted ID tokens through the real callback ----------------------------------------------------
# The dashboard is pointed at an impostor token endpoint that answers any code with the ID token a test
# made; discovery and the signing keys stay the real provider's, so everything the callback does after
# the code exchange (verification, finding the person, the session) is the real thing.


@pytest.fixture
def impostor(sso, settings, monkeypatch):
    settings.OIDC_CREATE_USERS = True  # a token that passed would make an account and sign it in
    answer: dict[str, str] = {}

    class TokenEndpoint(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.dumps(
                {
                    "access_token": "at",
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "id_token": answer["id_token"],
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), TokenEndpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    real = oidc.metadata()
    token_endpoint = f"http://127.0.0.1:{server.server_port}/token"
    monkeypatch.setattr(oidc, "metadata", lambda: {**real, "token_endpoint": token_endpoint})
    yield answer
    server.shutdown()
    server.server_close()


def person_token(key, nonce: str, email: str, **overrides) -> str:
    return token(key, nonce=nonce, sub=email.split("@")[0], email=email, email_verified=True, **overrides)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(claims: dict, alg: str, key: bytes = b"") -> str:
    """A token jose libraries refuse to make: alg none, or HS256 keyed with the provider's public key."""
    head = b64(json.dumps({"alg": alg, "typ": "JWT", "kid": "test-signing-key"}).encode())
    signing_input = f"{head}.{b64(json.dumps(claims).encode())}"
    signature = b64(hmac.new(key, signing_input.encode(), hashlib.sha256).digest()) if key else ""
    return f"{signing_input}.{signature}"


def through_the_callback(impostor, make) -> tuple[Client, object]:
    """Start a sign-in, have the token endpoint answer `make(nonce)`, come back with the right state."""
    client = Client()
    query = query_of(client.get("/login/sso/")["Location"])
    impostor["id_token"] = make(query["nonce"])
    return client, client.get("/login/sso/callback/", {"code": "any-code", "state": query["state"]})


def claims_of(nonce: str, email: str) -> dict:
    now = int(time.time())
    return {
        "iss": oidc.metadata()["issuer"],
        "aud": CLIENT_ID,
        "sub": email.split("@")[0],
        "iat": now,
        "exp": now + 300,
        "nonce": nonce,
        "email": email,
        "email_verified": True,
    }


def test_a_well_made_token_through_the_callback_signs_in(impostor, sso):
    """The control for the refusals below: the same route with nothing wrong gets in."""
    email = f"{unique('crafted').lower()}@acme.test"
    client, response = through_the_callback(impostor, lambda nonce: person_token(sso["key"], nonce, email))
    assert response.status_code == 302 and email in signed_in_as(client)


def _stranger_key(sso):
    return RSAKey.generate_key(2048, parameters={"kid": sso["key"].kid})


CRAFTED = {
    "wrong-audience": (lambda sso, n, e: person_token(sso["key"], n, e, aud="another-client"), "audience"),
    "expired": (
        lambda sso, n, e: person_token(
            sso["key"], n, e, exp=int(time.time()) - 600, iat=int(time.time()) - 900
        ),
        "expired",
    ),
    "wrong-issuer": (
        lambda sso, n, e: person_token(sso["key"], n, e, iss="http://127.0.0.1:1/evil"),
        "issuer",
    ),
    "another-key": (lambda sso, n, e: person_token(_stranger_key(sso), n, e), "not signed by"),
    "alg-none": (lambda sso, n, e: unsigned(claims_of(n, e), "none"), "not signed by"),
    "hs256-with-the-public-key": (
        lambda sso, n, e: unsigned(claims_of(n, e), "HS256", sso["key"].as_pem(private=False)),
        "not signed by",
    ),
    "wrong-nonce": (lambda sso, n, e: person_token(sso["key"], "not-" + n, e), "nonce"),
}


@pytest.mark.parametrize("case", CRAFTED, ids=list(CRAFTED))
def test_a_crafted_token_through_the_callback_is_refused_with_no_session(impostor, sso, case):
    make, reason = CRAFTED[case]
    email = f"{unique('crafted').lower()}@acme.test"
    client, response = through_the_callback(impostor, lambda nonce: make(sso, nonce, email))
    body = response.content.decode()
    assert response.status_code == 400 and reason in body and "nobody was signed in" in body
    assert not signed_in_as(client) and queries.find_user_by_email(email) is None


def test_a_token_replayed_into_another_sign_in_is_refused(impostor, sso):
    email = f"{unique('replayed').lower()}@acme.test"
    first, response = through_the_callback(impostor, lambda nonce: person_token(sso["key"], nonce, email))
    assert response.status_code == 302
    captured = impostor["id_token"]
    client, response = through_the_callback(impostor, lambda _nonce: captured)  # a new sign-in, same token
    assert response.status_code == 400 and "replayed" in response.content.decode()
    assert not signed_in_as(client)


def test_staff_can_require_sso_for_staff_and_their_passwords_stop_working(sso, people, settings):
    settings.OIDC_LINK_BY_EMAIL = True
    login = unique("staffer").lower()
    staffer = services.create_user(f"{login}@acme.test", PASSWORD, "staff")
    staff_scope = scope_for_user(people["staff"])
    services.set_sign_in_policy(staff_scope, set(), sso_for_staff=True)
    try:
        response = Client().post(
            "/login/", {"email": staffer.email, "password": PASSWORD}, REMOTE_ADDR=unique("ip")
        )
        assert response.status_code == 200 and "single sign-on" in response.content.decode()
        client, response = sso_sign_in(login)
        assert response.status_code == 302 and staffer.email in signed_in_as(client)
    finally:
        services.set_sign_in_policy(staff_scope, set(), sso_for_staff=False)


def test_without_configuration_there_is_no_sso(settings):
    settings.OIDC_ISSUER = ""
    assert Client().get("/login/sso/").status_code == 404
    assert "single sign-on" not in Client().get("/login/").content.decode().lower()
