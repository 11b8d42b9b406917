from __future__ import annotations

from urllib.parse import urlsplit

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.hashers import is_password_usable
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.middleware.csrf import rotate_token
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

from dashboard.accounts import access, oidc, queries, services
from dashboard.accounts.forms import (
    AcceptInvitationForm,
    InvitationForm,
    LoginForm,
    PasskeyAnswerForm,
    PasskeyForm,
    PasswordChangeForm,
    RetentionForm,
    SecondFactorForm,
    SecondFactorPolicyForm,
    UserEditForm,
    UserForm,
)
from dashboard.audit import services as audit
from dashboard.core import clock, worker
from dashboard.core.errors import DashboardError, NotFound
from dashboard.core.forms import add_service_errors
from dashboard.core.http import DashboardRequest, render_page
from dashboard.core.scope import ROLE_LABELS, Can
from dashboard.dynamo.tables import all_models, describe


def _client_address(request: DashboardRequest) -> str:
    if settings.CLIENT_ADDRESS_HEADER and request.META.get(settings.CLIENT_ADDRESS_HEADER):
        # The load balancer appends the address it saw last; earlier entries are client-supplied.
        return request.META[settings.CLIENT_ADDRESS_HEADER].split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "unknown")


def _safe_next(request: DashboardRequest) -> str:
    """Where to go after signing in or switching tenant: a path on this site, else `/`.

    Only absolute paths are followed (`abc` would be taken for a view name by `redirect`); the
    check happens before anything is written.
    """
    target = request.POST.get("next") or request.GET.get("next") or "/"
    if (
        target.startswith("/")
        and not target.startswith(("//", "/\\"))
        and len(target) <= 2000
        and not any(ord(char) < 32 for char in target)
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return target
    return "/"


KNOWN_DEVICE_COOKIE = "known_device"


SECOND_STEP_KEY = "_second_step"  # {"u": user id, "at": epoch seconds}: the password was right
SECOND_STEP_SECONDS = 300
MUST_ENROL_KEY = access.MUST_ENROL_KEY


def _finish_sign_in(request: DashboardRequest, user, next_url: str, how: str) -> HttpResponse:
    """Sign `user` in (a new session key and CSRF token), record it, remember this browser."""
    request.session.pop(SECOND_STEP_KEY, None)
    if not access.may_sign_in(user):  # the tenant's erase has started: whichever way they came
        return access.erasing_refusal(request)
    access.login(request, user)
    rotate_token(request)  # a CSRF token seen before signing in is not valid after it
    # Single sign-on leaves the second factor to the provider (its own MFA policy).
    if (
        how != "sso"
        and user.totp_secret is None
        and queries.second_factor_required(user.role)
        and not services.has_second_factor(user)
    ):
        request.session[MUST_ENROL_KEY] = True  # their role must use a second factor: enrol now
        next_url = reverse("accounts:two_factor")
    audit.record(
        access.scope_for_user(user),
        "session.login",
        "user",
        user.user_id,
        tenant_id=user.tenant_id,
        changes={"with": how},
    )
    response = HttpResponseRedirect(next_url)
    # Guesses from elsewhere never slow this browser's sign-ins down (services.authenticate).
    response.set_cookie(
        KNOWN_DEVICE_COOKIE,
        services.known_device_token(user),
        max_age=services.KNOWN_DEVICE_DAYS * 86400,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response


def _login_context(form: LoginForm, next_url: str, error: str = "") -> dict:
    return {
        "form": form,
        "next": next_url,
        "error": error,
        "sso": oidc.configured(),
        "sso_label": settings.OIDC_BUTTON_LABEL,
    }


SSO_PENDING_KEY = "_oidc"


@require_GET
def sso_start(request: DashboardRequest) -> HttpResponse:
    """Off to the identity provider (state, nonce and PKCE verifier kept in the session).
    DynamoDB: the session's write. The provider's discovery document is cached for an hour."""
    if not oidc.configured():
        raise NotFound("Single sign-on is not configured.")
    try:
        url, pending = oidc.start(request.build_absolute_uri(reverse("sso_callback")))
    except oidc.SsoFailed as exc:
        context = _login_context(LoginForm(), "/", exc.message)
        return render_page(request, "accounts/login.html", context, status=503)
    pending["next"] = _safe_next(request)
    request.session[SSO_PENDING_KEY] = pending
    return HttpResponseRedirect(url)


@require_GET
def sso_callback(request: DashboardRequest) -> HttpResponse:
    """The provider sends the browser back here with a code: exchanged, the ID token verified, the
    person found (or linked, or created, per settings) and signed in. The pending sign-in is taken
    out of the session first, so a replayed callback finds none. A sign-in started from an invitation
    accepts it instead (services.accept_invitation_with_sso).

    DynamoDB: 1 query (the SSO index), maybe a query of the e-mail index and a write, 1 audit write;
    an invitation: 1 GetItem, 2 index queries and 1 transaction."""
    if not oidc.configured():
        raise NotFound("Single sign-on is not configured.")
    pending = request.session.pop(SSO_PENDING_KEY, None)
    next_url = pending.get("next", "/") if isinstance(pending, dict) else "/"
    invited = pending.get("invitation") if isinstance(pending, dict) else None
    if not (
        isinstance(invited, list) and len(invited) == 2 and all(isinstance(part, str) for part in invited)
    ):
        invited = None
    try:
        claims = oidc.finish(request.build_absolute_uri(reverse("sso_callback")), pending, request.GET.dict())
        if invited:
            user = services.accept_invitation_with_sso(*invited, claims)
            messages.success(request, f"Welcome, {user.name}: your account is ready.")
        else:
            user = services.sso_sign_in(claims)
    except (oidc.SsoFailed, DashboardError) as exc:
        status = exc.status if isinstance(exc, DashboardError) else 400
        if invited:  # back to the invitation, when it still works, with the reason
            return _invitation_page(
                request, *invited, form=AcceptInvitationForm(), error=exc.message, status=status
            )
        context = _login_context(LoginForm(), next_url, exc.message)
        return render_page(request, "accounts/login.html", context, status=status)
    return _finish_sign_in(request, user, next_url, "sso")


@require_http_methods(["GET", "POST"])
def login(request: DashboardRequest) -> HttpResponse:
    next_url = _safe_next(request)
    if request.scope is not None:
        return HttpResponseRedirect(next_url)
    form = LoginForm(request.POST or None)
    status, retry_after = 200, None
    if request.method == "POST" and form.is_valid():
        try:
            user = services.authenticate(
                form.cleaned_data["email"],
                form.cleaned_data["password"],
                _client_address(request),
                known_device=request.COOKIES.get(KNOWN_DEVICE_COOKIE),
            )
        except services.LoginFailed as exc:
            form.add_error(None, exc.message)
            status, retry_after = (429, exc.retry_after) if exc.retry_after else (200, None)
        else:
            if not services.has_second_factor(user):
                return _finish_sign_in(request, user, next_url, "password")
            # The password was right; the session is not signed in until the code is too.
            request.session[SECOND_STEP_KEY] = {"u": user.user_id, "at": int(clock.now().timestamp())}
            return redirect(f"{reverse('login_code')}?{urlencode({'next': next_url})}")
    response = render_page(request, "accounts/login.html", _login_context(form, next_url), status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def _second_step_user(request: DashboardRequest):
    """The person whose password was right a moment ago (None: none, or too long ago)."""
    pending = request.session.get(SECOND_STEP_KEY)
    user = (
        queries.get_user(pending["u"])
        if isinstance(pending, dict) and isinstance(pending.get("u"), str)
        else None
    )
    fresh = (
        isinstance(pending, dict)
        and int(clock.now().timestamp()) - int(pending.get("at") or 0) < SECOND_STEP_SECONDS
    )
    return user if fresh else None


def _back_to_password(request: DashboardRequest, next_url: str) -> HttpResponse:
    request.session.pop(SECOND_STEP_KEY, None)
    messages.info(request, "Sign in with your password first.")
    return redirect(f"{reverse('login')}?{urlencode({'next': next_url})}")


def _login_code_page(request, user, form, next_url, status=200, retry_after=None, passkey_error=""):
    passkeys = bool(queries.passkeys_of(user.user_id))
    context = {
        "form": form,
        "next": next_url,
        "email": user.email,
        "totp": bool(user.totp_secret),
        "passkeys": passkeys,
        "passkey_form": PasskeyAnswerForm(),
        "passkey_error": passkey_error,
    }
    response = render_page(request, "accounts/login_code.html", context, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


@require_http_methods(["GET", "POST"])
def login_code(request: DashboardRequest) -> HttpResponse:
    """The second step of signing in: the authenticator app's code (or a recovery code), or a passkey
    (static/js/passkeys.js; answered at login_passkey).

    DynamoDB: 1 GetItem (the person), 1 query (their passkeys); POST adds the throttle's counters
    (3 updates) and 1 conditional update (the step or recovery code taken)."""
    next_url = _safe_next(request)
    if request.scope is not None:
        return HttpResponseRedirect(next_url)
    user = _second_step_user(request)
    if user is None or not services.has_second_factor(user):
        return _back_to_password(request, next_url)
    form = SecondFactorForm(request.POST or None)
    status, retry_after = 200, None
    if request.method == "POST" and form.is_valid():
        try:
            how = services.verify_second_factor(
                user,
                form.cleaned_data["code"],
                _client_address(request),
                known_device=request.COOKIES.get(KNOWN_DEVICE_COOKIE),
            )
        except services.LoginFailed as exc:
            form.add_error("code", exc.message)
            status, retry_after = (429, exc.retry_after) if exc.retry_after else (422, None)
        else:
            if how == "recovery code":
                left = len(queries.get_user(user.user_id).recovery_codes or ())
                messages.warning(request, f"You signed in with a recovery code; {left} left.")
            return _finish_sign_in(request, user, next_url, how)
    elif request.method == "POST":
        status = 422
    return _login_code_page(request, user, form, next_url, status, retry_after)


def _relying_party(request: DashboardRequest) -> services.RelyingParty:
    """WEBAUTHN_RP_ID / WEBAUTHN_ORIGIN, else this request's host (local use)."""
    host = request.get_host()
    rp_id = settings.WEBAUTHN_RP_ID or urlsplit(f"//{host}").hostname or host
    origin = settings.WEBAUTHN_ORIGIN or f"{request.scheme}://{host}"
    return services.RelyingParty(rp_id=rp_id, origin=origin)


PASSKEY_REGISTER_KEY = "_passkey_register"  # the registration challenge (base64url) until answered
PASSKEY_SIGN_IN_KEY = "_passkey_sign_in"  # the sign-in challenge (base64url) until answered


def _take_challenge(request: DashboardRequest, key: str) -> bytes | None:
    """The kept challenge, taken out of the session: it answers once."""
    kept = request.session.pop(key, None)
    if not isinstance(kept, str):
        return None
    try:
        return base64url_to_bytes(kept)
    except ValueError:
        return None


def _options_answer(request: DashboardRequest, key: str, made: tuple[str, bytes]) -> HttpResponse:
    options, challenge = made
    request.session[key] = bytes_to_base64url(challenge)
    return HttpResponse(options, content_type="application/json")


@require_POST
def login_passkey_options(request: DashboardRequest) -> HttpResponse:
    """The challenge and allowed passkeys for navigator.credentials.get() (JSON), at the second step.

    DynamoDB: 1 GetItem (the person), 1 query (their passkeys), the session's write."""
    user = _second_step_user(request) if request.scope is None else None
    made = services.passkey_sign_in_options(user, _relying_party(request)) if user else None
    if made is None:
        return JsonResponse({"error": "Sign in with your password first."}, status=409)
    return _options_answer(request, PASSKEY_SIGN_IN_KEY, made)


@require_POST
def login_passkey(request: DashboardRequest) -> HttpResponse:
    """The second step of signing in with a passkey: the browser's answer to the kept challenge.

    DynamoDB: 1 GetItem (the person), the throttle's counters (3 updates), 1 GetItem (the passkey) and
    1 conditional update (its counter), then the sign-in's writes."""
    next_url = _safe_next(request)
    if request.scope is not None:
        return HttpResponseRedirect(next_url)
    user = _second_step_user(request)
    if user is None:
        return _back_to_password(request, next_url)
    challenge = _take_challenge(request, PASSKEY_SIGN_IN_KEY)
    form = PasskeyAnswerForm(request.POST)
    if not form.is_valid():
        return _login_code_page(
            request, user, SecondFactorForm(), next_url, 422, passkey_error=services.PASSKEY_REFUSED
        )
    try:
        services.verify_passkey(
            user,
            _relying_party(request),
            challenge,
            form.cleaned_data["credential"],
            _client_address(request),
            known_device=request.COOKIES.get(KNOWN_DEVICE_COOKIE),
        )
    except services.LoginFailed as exc:
        status = 429 if exc.retry_after else 422
        return _login_code_page(
            request, user, SecondFactorForm(), next_url, status, exc.retry_after, passkey_error=exc.message
        )
    return _finish_sign_in(request, user, next_url, "passkey")


@require_POST
def logout(request: DashboardRequest) -> HttpResponse:
    if request.scope is not None:
        audit.record(
            request.scope, "session.logout", "user", request.scope.actor_id, tenant_id=request.user.tenant_id
        )
    access.logout(request)
    messages.info(request, "You are signed out.")
    return redirect("login")


@require_POST
@access.scoped(Can.RUN_PLATFORM)
def switch_tenant(request: DashboardRequest) -> HttpResponse:
    next_url = _safe_next(request)
    tenant_id = request.POST.get("tenant_id") or None
    if tenant_id:
        queries.get_tenant(tenant_id)  # 404 for an unknown tenant
    request.session[access.TENANT_FOCUS_KEY] = tenant_id
    return HttpResponseRedirect(next_url)


@require_GET
@access.scoped(Can.RUN_PLATFORM)
def tables(request: DashboardRequest) -> HttpResponse:
    infos = [describe(model) for model in all_models()]
    return render_page(request, "accounts/tables.html", {"tables": infos})


@require_http_methods(["GET", "POST"])
@access.scoped(Can.RUN_PLATFORM)
def users(request: DashboardRequest) -> HttpResponse:
    tenants = queries.list_tenants()
    form = UserForm(request.POST or None, tenants=tenants, initial={"tenant": request.scope.tenant_id})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                user = services.add_user(
                    request.scope, data["email"], data["password"], data["role"], data["tenant"], data["name"]
                )
            except DashboardError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"{user.email} can sign in now as {ROLE_LABELS[user.role]}.")
                return redirect("accounts:users")
        status = 422
    context = {"groups": queries.list_users(request.scope), "form": form}
    return render_page(request, "accounts/users.html", context, status=status)


@require_http_methods(["GET", "POST"])
@access.scoped(Can.RUN_PLATFORM)
def user_edit(request: DashboardRequest, user_id: str) -> HttpResponse:
    person = queries.get_user(user_id)
    if person is None:
        raise NotFound("That user was not found.")
    initial = {
        "name": person.name,
        "role": person.role,
        "tenant": person.tenant_id or "",
        "version": person.version,
    }
    form = UserEditForm(request.POST or None, tenants=queries.list_tenants(), initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.update_user(
                    request.scope,
                    user_id,
                    name=data["name"],
                    role=data["role"],
                    tenant_id=data["tenant"],
                    password=data["password"],
                    expected_version=data["version"],
                )
            except DashboardError as exc:
                if exc.status == 404:
                    raise
                add_service_errors(form, exc)
                status = exc.status
            else:
                messages.success(request, f"Saved {person.email}.")
                return redirect("accounts:users")
        else:
            status = 422
    context = {"person": person, "form": form, "sessions": queries.session_count(user_id)}
    return render_page(request, "accounts/user_edit.html", context, status=status)


@require_POST
@access.scoped(Can.RUN_PLATFORM)
def user_sign_out(request: DashboardRequest, user_id: str) -> HttpResponse:
    ended = services.sign_out_everywhere(request.scope, user_id)
    messages.success(request, f"Signed out of {ended} session{'s' if ended != 1 else ''}.")
    return redirect("accounts:user_edit", user_id=user_id)


@require_http_methods(["GET", "POST"])
@access.scoped(Can.RUN_PLATFORM)
def user_set_active(request: DashboardRequest, user_id: str) -> HttpResponse:
    """GET asks before disabling (who, what ends); POST enables, or disables with `confirmed=1`.

    DynamoDB: GET 1 GetItem and 1 query (their sessions); POST as `services.set_active`.
    """
    if request.method == "GET":
        person = queries.get_user(user_id)
        if person is None:
            raise NotFound("That user was not found.")
        context = {"person": person, "sessions": queries.session_count(user_id)}
        return render_page(request, "accounts/user_disable.html", context)
    active = request.POST.get("active") == "1"
    try:
        user = services.set_active(
            request.scope, user_id, active, confirmed=request.POST.get("confirmed") == "1"
        )
    except DashboardError as exc:
        if exc.status == 404:
            raise
        messages.error(request, exc.message)
        if "confirmed" in exc.fields:
            return redirect("accounts:user_set_active", user_id=user_id)
    else:
        state = "enabled" if active else "disabled; their sessions have ended"
        messages.success(request, f"{user.email} is {state}.")
    return redirect("accounts:users")


@require_http_methods(["GET", "POST"])
@access.scoped(Can.TENANT_PAGES)
def retention(request: DashboardRequest) -> HttpResponse:
    """How long the tenant's data is kept: staff change it (audited; a shorter period queues the job that
    applies it to stored items), a tenant admin reads it and the job's progress. Call budget: 1 GetItem
    (the tenant) on GET and on each poll of the progress; a change adds 1 TransactWriteItems."""
    tenant_id = request.scope.reading_tenant()
    if tenant_id is None:  # staff over every tenant: the page is about one
        context = {"tenant": None, "kept": None, "job": None, "form": None, "can_change": False}
        return render_page(request, "accounts/retention.html", context)
    tenant = queries.get_tenant(tenant_id)
    can_change = request.scope.can(Can.RUN_PLATFORM)
    kept = queries.retention_of_tenant(tenant)
    status = 200
    form = RetentionForm(initial=vars(kept)) if can_change else None
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied
        form = RetentionForm(request.POST)
        if form.is_valid():
            try:
                services.set_retention(request.scope, tenant_id, **form.cleaned_data)
            except DashboardError as exc:
                add_service_errors(form, exc)
            else:
                worker.wake()  # this process's worker starts the job at once when it runs here
                messages.success(request, f"Retention of {tenant.name} saved.")
                return redirect("accounts:retention")
        status = 422
    job = tenant.retention_job
    context = {"tenant": tenant, "kept": kept, "job": job, "form": form, "can_change": can_change}
    response = render_page(request, "accounts/retention.html", context, partial="progress", status=status)
    if request.htmx and request.method == "GET" and not (job and job["status"] in ("queued", "running")):
        response.status_code = 286  # nothing more to wait for: htmx stops polling
    return response


# --- own account -------------------------------------------------------------------------------


def _account_context(
    request: DashboardRequest, form: PasswordChangeForm, passkey_form: PasskeyForm | None = None
) -> dict:
    current = request.session.session_key
    sessions = [
        {
            "ref": queries.session_ref(item.session_key),
            "current": item.session_key == current,
            "signed_in_at": item.signed_in_at,
            "expires_at": item.expires_at,
            "agent": item.agent or "unknown browser",
        }
        for item in queries.own_sessions(request.user.user_id)
    ]
    return {
        "person": request.user,
        "form": form,
        "sessions": sessions,
        "passkeys": queries.passkeys_of(request.user.user_id),
        "passkey_form": passkey_form or PasskeyForm(),
    }


@require_GET
@access.scoped()
def account(request: DashboardRequest) -> HttpResponse:
    """The signed-in person's own account: password, passkeys, signed-in browsers.

    DynamoDB: 1 query (their sessions, keys only), 1 BatchGet of them, 1 query (their passkeys)."""
    return render_page(request, "accounts/account.html", _account_context(request, PasswordChangeForm()))


@require_POST
@access.scoped()
def account_password(request: DashboardRequest) -> HttpResponse:
    """Change one's own password; other sessions end, this one stays.

    DynamoDB: the sign-in throttle's counters (3 updates), 1 transaction, then the sessions' query and
    deletes."""
    form = PasswordChangeForm(request.POST)
    if form.is_valid():
        try:
            ended = services.change_own_password(
                request.user,
                form.cleaned_data["current"],
                form.cleaned_data["new"],
                _client_address(request),
                keep_session=request.session.session_key,
                known_device=request.COOKIES.get(KNOWN_DEVICE_COOKIE),
            )
        except DashboardError as exc:
            add_service_errors(form, exc)
        else:
            others = f" {ended} other session{'s' if ended != 1 else ''} ended." if ended else ""
            messages.success(request, f"Your password is changed.{others}")
            return redirect("accounts:account")
    return render_page(request, "accounts/account.html", _account_context(request, form), status=422)


@require_POST
@access.scoped()
def account_end_session(request: DashboardRequest, ref: str) -> HttpResponse:
    """End one of one's own other sessions. DynamoDB: 1 query and 1 DeleteItem."""
    if not services.end_own_session(request.user, ref, request.session.session_key):
        raise NotFound("That session was not found.")
    messages.success(request, "That browser is signed out.")
    return redirect("accounts:account")


@require_POST
@access.scoped()
def account_end_other_sessions(request: DashboardRequest) -> HttpResponse:
    """End every session of one's own but this one. DynamoDB: 1 query and a DeleteItem each."""
    ended = services.end_sessions(request.user.user_id, keep=request.session.session_key)
    messages.success(request, f"Signed out of {ended} other session{'s' if ended != 1 else ''}.")
    return redirect("accounts:account")


@require_POST
@access.scoped()
def passkey_options(request: DashboardRequest) -> HttpResponse:
    """The challenge for navigator.credentials.create() (JSON), kept in the session for the answer.

    DynamoDB: 1 query (the person's passkeys, excluded), the session's write."""
    if not is_password_usable(request.user.password):
        return JsonResponse({"error": services.PASSKEY_NEEDS_PASSWORD}, status=409)
    return _options_answer(
        request,
        PASSKEY_REGISTER_KEY,
        services.passkey_registration_options(request.user, _relying_party(request)),
    )


@require_POST
@access.scoped()
def passkey_add(request: DashboardRequest) -> HttpResponse:
    """Register the passkey the browser made (static/js/passkeys.js fills in its answer).

    DynamoDB: 1 transaction (the passkey and the audit event); an error re-renders the account page."""
    challenge = _take_challenge(request, PASSKEY_REGISTER_KEY)
    form = PasskeyForm(request.POST)
    if form.is_valid():
        try:
            passkey = services.add_passkey(
                request.user,
                _relying_party(request),
                challenge,
                form.cleaned_data["credential"],
                form.cleaned_data["name"],
            )
        except DashboardError as exc:
            add_service_errors(form, exc)
        else:
            request.session.pop(MUST_ENROL_KEY, None)
            messages.success(request, f"Passkey “{passkey.name}” added: signing in can use it now.")
            return redirect("accounts:account")
    return render_page(
        request, "accounts/account.html", _account_context(request, PasswordChangeForm(), form), status=422
    )


@require_POST
@access.scoped()
def passkey_remove(request: DashboardRequest, credential_id: str) -> HttpResponse:
    """Remove one of one's own passkeys (audited). DynamoDB: 1 GetItem, 1 transaction."""
    try:
        passkey = services.remove_passkey(request.user, credential_id)
    except DashboardError as exc:
        if exc.status == 404:
            raise
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Passkey “{passkey.name}” removed.")
    return redirect("accounts:account")


# --- invitations -------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@access.scoped(Can.TENANT_PAGES)
def invitations(request: DashboardRequest) -> HttpResponse:
    """Pending invitations and the form to invite someone; after inviting, the link is shown once.

    DynamoDB: GET 1 query (pending invitations; staff also the cached tenant list); POST adds a query
    of the e-mail index and 1 transaction (the invitation and its audit event)."""
    staff = request.scope.is_staff
    tenants = queries.list_tenants() if staff else []
    form = InvitationForm(
        request.POST or None, tenants=tenants, staff=staff, initial={"tenant": request.scope.tenant_id}
    )
    status, new_link, invited = 200, None, None
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                created = services.invite(request.scope, data["email"], data["role"], data.get("tenant"))
            except DashboardError as exc:
                add_service_errors(form, exc)
                status = exc.status
            else:
                new_link = request.build_absolute_uri(created.path)
                invited = created.invitation
                form = InvitationForm(
                    tenants=tenants, staff=staff, initial={"tenant": request.scope.tenant_id}
                )
        else:
            status = 422
    context = {
        "form": form,
        "pending": queries.pending_invitations(request.scope),
        "new_link": new_link,
        "invited": invited,
        "days": settings.INVITATION_DAYS,
    }
    return render_page(request, "accounts/invitations.html", context, status=status)


@require_POST
@access.scoped(Can.TENANT_PAGES)
def invitation_revoke(request: DashboardRequest, invitation_id: str) -> HttpResponse:
    """Revoke a pending invitation. DynamoDB: 1 GetItem and 1 transaction."""
    try:
        invitation = services.revoke_invitation(request.scope, invitation_id)
    except DashboardError as exc:
        if exc.status == 404:
            raise
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"The invitation of {invitation.email} is revoked; its link no longer works."
        )
    return redirect("accounts:invitations")


@require_http_methods(["GET", "POST"])
def accept_invitation(request: DashboardRequest, invitation_id: str, secret: str) -> HttpResponse:
    """The invitation link: choose a name and password (or continue with single sign-on), and be
    signed in to the new account.

    DynamoDB: 1 GetItem (the invitation); POST adds a query of the e-mail index, 1 transaction
    (invitation, account, audit event) and the new session."""
    form = AcceptInvitationForm(request.POST or None)
    if request.method == "POST":
        services.open_invitation(invitation_id, secret)  # 404 before reading the form
        if not form.is_valid():
            return _invitation_page(request, invitation_id, secret, form, status=422)
        try:
            user = services.accept_invitation(
                invitation_id, secret, form.cleaned_data["name"], form.cleaned_data["password"]
            )
        except DashboardError as exc:
            if exc.status == 404:
                raise
            add_service_errors(form, exc)
            return _invitation_page(request, invitation_id, secret, form, status=exc.status)
        messages.success(request, f"Welcome, {user.name}: your account is ready.")
        return _finish_sign_in(request, user, reverse("home"), "invitation")
    return _invitation_page(request, invitation_id, secret, form)


def _invitation_page(
    request: DashboardRequest,
    invitation_id: str,
    secret: str,
    form: AcceptInvitationForm,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    """The invitation page (404 once the link no longer works), with `error` from a refused attempt."""
    invitation = services.open_invitation(invitation_id, secret)
    context = {
        "invitation": invitation,
        "form": form,
        "error": error,
        "sso": oidc.configured(),
        "sso_provider": settings.OIDC_PROVIDER_NAME,
        "sso_url": reverse("accept_invitation_sso", args=[invitation_id, secret]),
    }
    return render_page(request, "accounts/accept_invitation.html", context, status=status)


@require_GET
def accept_invitation_sso(request: DashboardRequest, invitation_id: str, secret: str) -> HttpResponse:
    """ "Continue with <provider>" on the invitation page: off to the identity provider, the invitation
    kept with the pending sign-in (in the server-side session) so the callback accepts it.

    DynamoDB: 1 GetItem (the invitation) and the session's write."""
    services.open_invitation(invitation_id, secret)  # 404 for a used, revoked, expired or forged link
    if not oidc.configured():
        raise NotFound("Single sign-on is not configured.")
    try:
        url, pending = oidc.start(request.build_absolute_uri(reverse("sso_callback")))
    except oidc.SsoFailed as exc:
        return _invitation_page(
            request, invitation_id, secret, AcceptInvitationForm(), error=exc.message, status=503
        )
    pending["next"] = reverse("home")
    pending["invitation"] = [invitation_id, secret]
    request.session[SSO_PENDING_KEY] = pending
    return HttpResponseRedirect(url)


# --- second factor -----------------------------------------------------------------------------

PENDING_TOTP_KEY = "_totp_pending"  # the secret shown as a QR code until a code from it confirms it


@require_http_methods(["GET", "POST"])
@access.scoped()
def two_factor(request: DashboardRequest) -> HttpResponse:
    """Set up (scan, confirm a code) or turn off the authenticator app; the recovery codes are shown
    once, in the answer that turns it on.

    DynamoDB: GET 1 GetItem (the policy), 1 query (their passkeys); POST adds 1 transaction (the
    person and the audit event)."""
    user = request.user
    form = SecondFactorForm(request.POST or None)
    status, codes = 200, None
    if request.method == "POST" and form.is_valid():
        try:
            if user.totp_secret:
                services.disable_totp(user, form.cleaned_data["code"])
                messages.success(request, "Your second factor is off.")
                return redirect("accounts:two_factor")
            secret = request.session.get(PENDING_TOTP_KEY)
            if not isinstance(secret, str):
                raise NotFound("Nothing to confirm.")
            codes = services.enable_totp(user, secret, form.cleaned_data["code"])
        except DashboardError as exc:
            if exc.status == 404:
                return redirect("accounts:two_factor")
            add_service_errors(form, exc)
            status = exc.status
        else:
            request.session.pop(PENDING_TOTP_KEY, None)
            request.session.pop(MUST_ENROL_KEY, None)
            form = SecondFactorForm()
    elif request.method == "POST":
        status = 422
    context = {
        "person": user,
        "form": form,
        "codes": codes,
        "required": queries.second_factor_required(user.role) and not queries.passkeys_of(user.user_id),
        "must_enrol": bool(request.session.get(MUST_ENROL_KEY)),
        "qr_svg": None,
        "secret": None,
        "codes_left": len(user.recovery_codes or ()),
        "passkeys": queries.passkeys_of(user.user_id),
        "passkey_form": PasskeyForm(),
    }
    if not user.totp_secret:
        secret = request.session.get(PENDING_TOTP_KEY)
        if not isinstance(secret, str):
            secret = request.session[PENDING_TOTP_KEY] = services.new_totp_secret()
        # Drawn here as inline SVG: the secret never leaves the dashboard (no QR service, no CDN).
        context["qr_svg"] = mark_safe(segno.make(services.totp_uri(secret, user.email)).svg_inline(scale=5))  # noqa: S308 — segno's own markup
        context["secret"] = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    return render_page(request, "accounts/two_factor.html", context, status=status)


@require_http_methods(["GET", "POST"])
@access.scoped(Can.RUN_PLATFORM)
def sign_in_policy(request: DashboardRequest) -> HttpResponse:
    """Staff choose the roles that must use a second factor. DynamoDB: 1 GetItem; POST 1 transaction."""
    policy = queries.sign_in_policy()
    initial = {"roles": sorted(policy.totp_roles or ()), "sso_for_staff": bool(policy.sso_for_staff)}
    form = SecondFactorPolicyForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.set_sign_in_policy(
                    request.scope, set(form.cleaned_data["roles"]), form.cleaned_data["sso_for_staff"]
                )
            except DashboardError as exc:
                add_service_errors(form, exc)
                status = exc.status
            else:
                messages.success(request, "The sign-in policy is saved.")
                return redirect("accounts:sign_in_policy")
        else:
            status = 422
    return render_page(request, "accounts/sign_in_policy.html", {"form": form}, status=status)
