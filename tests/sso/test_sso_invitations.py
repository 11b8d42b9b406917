"""Accepting an invitation through single sign-on, against the real oidc-provider: the account lands in
the invitation's tenant with its role, linked to the provider's subject; every mismatch, unverified
address, used or expired invitation and replayed callback is refused and changes nothing."""

from datetime import timedelta

from django.contrib.auth.hashers import is_password_usable
from django.test import Client

from dashboard.accounts import queries, services
from dashboard.accounts.access import scope_for_user
from dashboard.accounts.models import Invitation
from dashboard.audit.models import AuditEvent
from dashboard.core import clock
from tests.conftest import unique
from tests.sso.conftest import query_of, sign_in_at_provider

CALLBACK = "http://testserver/login/sso/callback/"
CHOSEN = "velvet-orchard-compass-7"


def invitation_for(people, email: str, role: str = "tenant_admin", by: str = "admin of acme") -> str:
    """The link of a fresh invitation (as the inviter would copy it)."""
    return services.invite(scope_for_user(people[by]), email, role).path


def start(link: str, client: Client) -> str:
    """Press "Continue with …" on the invitation page; the provider's authorization URL."""
    response = client.get(link + "sso/")
    assert response.status_code == 302, response.status_code
    return response["Location"]


def provider_callback(authorization_url: str, login: str) -> str:
    return sign_in_at_provider(authorization_url, login, CALLBACK).replace("http://testserver", "")


def accept_with_sso(link: str, login: str, client: Client | None = None):
    client = client or Client()
    back = provider_callback(start(link, client), login)
    return client, client.get(back)


def signed_in(client: Client) -> bool:
    return client.get("/account/me/").status_code == 200


def invitation_of(link: str) -> Invitation:
    return Invitation.get(link.split("/")[2])


def assert_nothing_changed(link: str, *emails: str) -> None:
    assert invitation_of(link).status == "pending"
    for email in emails:
        assert queries.find_user_by_email(email) is None


def test_the_invitation_page_offers_to_continue_with_the_provider(sso, settings, people):
    settings.OIDC_PROVIDER_NAME = "Okta"
    link = invitation_for(people, f"{unique('offer').lower()}@acme.test")
    html = Client().get(link).content.decode()
    assert "Continue with Okta" in html and f'href="{link}sso/"' in html
    assert "Create my account" in html  # setting a password is still offered beside it


def test_an_invitation_accepted_through_sso_makes_the_linked_account_with_the_invitations_role(sso, people):
    login = unique("invmod").lower()
    email = f"{login}@acme.test"
    # The provider claims tenant admin of acme for everyone; the invitation (staff's) says moderator.
    link = invitation_for(people, email, role="moderator", by="staff")
    client, response = accept_with_sso(link, login)
    assert response.status_code == 302 and response["Location"] == "/"
    user = queries.find_user_by_email(email)
    assert (user.role, user.tenant_id) == ("moderator", None)
    assert user.sso_subject == f"{sso['issuer']}#{login}"
    assert not is_password_usable(user.password)  # signs in through the provider only
    assert signed_in(client)
    invitation = invitation_of(link)
    assert (invitation.status, invitation.accepted_user_id) == ("accepted", user.user_id)
    event = next(
        e
        for e in AuditEvent.query("platform", AuditEvent.sk >= "2000", scan_index_forward=False, limit=50)
        if e.target_id == invitation.invitation_id and e.action == "invitation.accept"
    )
    assert event.changes["via"] == "sso"
    # From now on plain SSO finds the person by subject (no e-mail linking, no account creation on).
    again = Client()
    back = provider_callback(again.get("/login/sso/")["Location"], login)
    response = again.get(back)
    assert response.status_code == 302 and signed_in(again)
    assert queries.find_user_by_email(email).user_id == user.user_id


def test_a_different_email_at_the_provider_is_refused_and_changes_nothing(sso, people):
    invited = f"{unique('invited').lower()}@acme.test"
    link = invitation_for(people, invited)
    other = unique("someoneelse").lower()
    client, response = accept_with_sso(link, other)
    body = response.content.decode()
    assert response.status_code == 403
    assert f"This invitation is for {invited}" in body and f"{other}@acme.test" in body
    assert "Create my account" in body  # back on the invitation page, which still works
    assert not signed_in(client)
    assert_nothing_changed(link, invited, f"{other}@acme.test")
    assert client.post(link, {"name": "N", "password": CHOSEN, "again": CHOSEN}).status_code == 302


def test_an_email_the_provider_has_not_verified_is_refused(sso, people):
    login = unique("unverified").lower()  # the test provider marks these addresses unverified
    link = invitation_for(people, f"{login}@acme.test")
    client, response = accept_with_sso(link, login)
    assert response.status_code == 403 and "has not verified" in response.content.decode()
    assert not signed_in(client)
    assert_nothing_changed(link, f"{login}@acme.test")


def test_a_used_invitation_is_refused_before_and_after_the_provider(sso, people):
    login = unique("used").lower()
    link = invitation_for(people, f"{login}@acme.test")
    client = Client()
    authorization_url = start(link, client)  # off to the provider …
    # … while someone with the link accepts it with a password
    assert Client().post(link, {"name": "N", "password": CHOSEN, "again": CHOSEN}).status_code == 302
    response = client.get(provider_callback(authorization_url, login))
    assert response.status_code == 404 and "no longer valid" in response.content.decode()
    assert not signed_in(client)
    assert queries.find_user_by_email(f"{login}@acme.test").sso_subject is None  # not linked
    assert Client().get(link + "sso/").status_code == 404  # and nobody starts with it again


def test_an_invitation_revoked_meanwhile_is_refused(sso, people):
    login = unique("revoked").lower()
    link = invitation_for(people, f"{login}@acme.test")
    client = Client()
    authorization_url = start(link, client)
    services.revoke_invitation(scope_for_user(people["admin of acme"]), invitation_of(link).invitation_id)
    response = client.get(provider_callback(authorization_url, login))
    assert response.status_code == 404 and "no longer valid" in response.content.decode()
    assert not signed_in(client)
    assert queries.find_user_by_email(f"{login}@acme.test") is None
    assert invitation_of(link).status == "revoked"


def test_an_expired_invitation_is_refused(sso, people):
    login = unique("late").lower()
    link = invitation_for(people, f"{login}@acme.test")
    client = Client()
    authorization_url = start(link, client)
    # It expires while the person is at the provider (moving the clock a week on would end the
    # browser session too, so its end is set instead).
    invitation_of(link).update(actions=[Invitation.expires_at.set(clock.now() - timedelta(seconds=1))])
    response = client.get(provider_callback(authorization_url, login))
    assert response.status_code == 404 and "no longer valid" in response.content.decode()
    assert not signed_in(client)
    assert queries.find_user_by_email(f"{login}@acme.test") is None
    assert Client().get(link + "sso/").status_code == 404


def test_a_replayed_callback_is_refused(sso, people):
    login = unique("replay").lower()
    link = invitation_for(people, f"{login}@acme.test")
    client = Client()
    back = provider_callback(start(link, client), login)
    assert client.get(back).status_code == 302
    for replayer in (client, Client()):
        response = replayer.get(back)
        assert response.status_code == 400 and "used already" in response.content.decode()
    # The callback of one acceptance, replayed into another invitation's sign-in, accepts nothing.
    second = unique("second").lower()
    other_link = invitation_for(people, f"{second}@acme.test")
    stranger = Client()
    start(other_link, stranger)
    response = stranger.get(back)
    assert response.status_code == 400 and not signed_in(stranger)
    assert_nothing_changed(other_link, f"{second}@acme.test")


def test_a_forged_state_is_refused_and_the_invitation_still_works(sso, people):
    login = unique("forged").lower()
    link = invitation_for(people, f"{login}@acme.test")
    client = Client()
    back = provider_callback(start(link, client), login)
    response = client.get("/login/sso/callback/", {"code": query_of(back)["code"], "state": "forged"})
    assert response.status_code == 400 and "not started here" in response.content.decode()
    assert not signed_in(client)
    assert_nothing_changed(link, f"{login}@acme.test")


def test_the_allowed_domains_hold_for_invitations_too(sso, settings, people):
    settings.OIDC_ALLOWED_DOMAINS = ["globex.test"]
    login = unique("dom").lower()
    link = invitation_for(people, f"{login}@acme.test")
    client, response = accept_with_sso(link, login)
    assert response.status_code == 403 and "domain" in response.content.decode()
    assert not signed_in(client)
    assert_nothing_changed(link, f"{login}@acme.test")


def test_without_sso_the_invitation_offers_a_password_only(settings, people):
    settings.OIDC_ISSUER = ""
    link = invitation_for(people, f"{unique('nosso').lower()}@acme.test")
    assert "Continue with" not in Client().get(link).content.decode()
    assert Client().get(link + "sso/").status_code == 404
