"""The one place that turns a request into a user and an access scope, and the decorator pages use."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django_htmx.http import HttpResponseClientRedirect

from dashboard.accounts.models import User
from dashboard.accounts.queries import ERASING_MESSAGE, get_user, person_and_tenant, tenant_being_erased
from dashboard.accounts.session_store import AGENT_KEY, SIGNED_IN_AT_KEY, TENANT_KEY, USER_KEY
from dashboard.core import clock, request_cache
from dashboard.core.scope import STAFF, AccessScope, Can

TENANT_FOCUS_KEY = "_tenant_focus"
# Set at sign-in when the person's role must use a second factor they have not set up: every page
# but the enrolment page sends them there until they have.
MUST_ENROL_KEY = "_must_enrol"
ENROL_VIEW = "accounts:two_factor"
# A person who must enrol may also register a passkey instead of the authenticator app.
ENROL_VIEWS = {ENROL_VIEW, "accounts:passkey_options", "accounts:passkey_add"}


def user_for_request(request: HttpRequest) -> User | None:
    """The signed-in person, or None. A disabled person's session ends here; so does the session of
    anyone of a tenant being erased (`request.tenant_erasing` then says why: AccessScopeMiddleware
    answers 403). One call: the person and their tenant in one batch read (the tenant named at
    sign-in); a session without it reads the tenant after the person."""
    if not hasattr(request, "_cached_user"):
        user_id, tenant_id = request.session.get(USER_KEY), request.session.get(TENANT_KEY)
        if user_id and tenant_id:
            user = person_and_tenant(user_id, tenant_id)
            if user is not None and user.tenant_id != tenant_id:  # moved since: read their own tenant
                request_cache.forget(f"erasing#{tenant_id}")
        else:
            user = get_user(user_id) if user_id else None
        if user is not None and not user.is_active:
            request.session.flush()
            user = None
        if user is not None and user.role != STAFF and tenant_being_erased(user.tenant_id):
            request.session.flush()
            request.tenant_erasing = True
            user = None
        request._cached_user = user
    return request._cached_user


def may_sign_in(user: User) -> bool:
    """Every way of signing in ends through this check (accounts.views._finish_sign_in)."""
    return user.role == STAFF or not tenant_being_erased(user.tenant_id)


def scope_for_user(user: User, tenant_focus: str | None = None) -> AccessScope:
    tenant_id = tenant_focus if user.role == STAFF else user.tenant_id
    return AccessScope(role=user.role, actor_id=user.user_id, actor_label=user.email, tenant_id=tenant_id)


def scope_for_request(request: HttpRequest) -> AccessScope | None:
    user = user_for_request(request)
    if user is None:
        return None
    return scope_for_user(user, request.session.get(TENANT_FOCUS_KEY))


def login(request: HttpRequest, user: User) -> None:
    request.session.cycle_key()  # a fresh key at login defeats session fixation
    request.session[USER_KEY] = user.user_id
    request.session[SIGNED_IN_AT_KEY] = clock.iso_ms(clock.now())
    request.session[AGENT_KEY] = request.META.get("HTTP_USER_AGENT", "")[:200]
    if user.tenant_id:
        request.session[TENANT_KEY] = user.tenant_id
    request._cached_user = user


def erasing_refusal(request: HttpRequest) -> HttpResponse:
    """The answer to a person of a tenant being erased (their session has just ended): a 403 page
    saying why; an htmx request is sent to the sign-in page (htmx swaps no 403). Answered from the
    middleware too, before django-htmx has looked at the request: the header is read here."""
    if request.headers.get("HX-Request") == "true":
        return HttpResponseClientRedirect(reverse("login"))
    return render(request, "403.html", {"reason": ERASING_MESSAGE}, status=403)


def logout(request: HttpRequest) -> None:
    request.session.flush()
    request._cached_user = None


def scoped(capability: Can = Can.SIGN_IN) -> Callable:
    """Pages for signed-in people whose role has `capability` (see core.scope.CAPABILITIES)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            scope = request.scope
            if scope is None:
                login_url = f"{reverse('login')}?{urlencode({'next': request.get_full_path()})}"
                if request.htmx:
                    return HttpResponseClientRedirect(login_url)
                return redirect(login_url)
            match = getattr(request, "resolver_match", None)
            if request.session.get(MUST_ENROL_KEY) and (match is None or match.view_name not in ENROL_VIEWS):
                if request.htmx:
                    return HttpResponseClientRedirect(reverse(ENROL_VIEW))
                return redirect(ENROL_VIEW)
            if not scope.can(capability):
                return render(
                    request,
                    "403.html",
                    {"reason": "Your role does not give access to this page."},
                    status=403,
                )
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
