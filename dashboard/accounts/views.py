from __future__ import annotations

import csv
import re
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.middleware.csrf import rotate_token
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dashboard.accounts import access, queries, services
from dashboard.accounts.forms import ApiKeyForm, LoginForm, UserEditForm, UserForm
from dashboard.accounts.scope import ROLE_LABELS, Can
from dashboard.apikeys import queries as apikey_queries
from dashboard.apikeys import services as apikeys
from dashboard.audit import queries as audit_queries
from dashboard.audit import services as audit
from dashboard.audit.templatetags.audit_format import readable_changes
from dashboard.core.csv_cells import safe_rows
from dashboard.core.errors import DashboardError, NotFound, ValidationFailed
from dashboard.core.forms import add_service_errors
from dashboard.core.http import DashboardRequest, render_page
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
            access.login(request, user)
            rotate_token(request)  # a CSRF token seen before signing in is not valid after it
            audit.record(
                access.scope_for_user(user), "session.login", "user", user.user_id, tenant_id=user.tenant_id
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
    response = render(request, "accounts/login.html", {"form": form, "next": next_url}, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


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


def _audit_filters(request: DashboardRequest) -> audit_queries.AuditFilters:
    """The trail's filters from the query string; sign-ins are hidden unless asked for (the form
    sends `signins=show` before its checkbox, whose `hide` wins when ticked)."""
    action = request.GET.get("action") or ""
    actor = request.GET.get("actor") or ""
    target = request.GET.get("target") or None
    # Values outside these shapes match nothing anyone recorded: they are dropped, not queried.
    return audit_queries.AuditFilters(
        action=action if AUDIT_ACTION.fullmatch(action) else None,
        actor_id=actor if AUDIT_ACTOR.fullmatch(actor) else None,
        target_type=target if target in AUDIT_TARGET_TYPES else None,
        hide_sign_ins=request.GET.get("signins", "hide") != "show",
    )


AUDIT_ACTION = re.compile(r"[a-z_]{1,40}(\.[a-z_]{1,40})?")
AUDIT_ACTOR = re.compile(r"[A-Za-z0-9_.@+-]{1,100}")
AUDIT_TARGET_TYPES = (
    "alert_rule", "api_key", "experiment", "flow_node", "model", "model_version", "run", "template",
    "tenant", "user",
)  # fmt: skip
AUDIT_ACTIONS = (
    "alert_rule", "api_key", "budget.set", "experiment.create", "model", "model_version", "node_config.save",
    "run", "session", "template", "user",
)  # fmt: skip


@require_GET
@access.scoped(Can.TENANT_PAGES)
def audit_trail(request: DashboardRequest) -> HttpResponse:
    """The audit trail, filtered by action, actor and target type, sign-ins hidden by default.

    DynamoDB calls: the page at most audit_queries.MAX_CALLS queries (one when nothing is filtered); the
    people for the actor filter and the names 3 queries (queries.people_acting_in).
    """
    filters = _audit_filters(request)
    page = audit_queries.list_events(
        request.scope,
        month=request.GET.get("month") or None,
        cursor=request.GET.get("cursor"),
        filters=filters,
    )
    people = queries.people_acting_in(request.scope)
    context = {
        "page": page,
        "month": request.GET.get("month", ""),
        "filters": filters,
        "people": people,
        "names": {user.user_id: (user.name or user.email, user.email) for user in people},
        "target_types": AUDIT_TARGET_TYPES,
        "actions": AUDIT_ACTIONS,
        "export_query": _query_without(request, "cursor"),
    }
    return render_page(request, "accounts/audit.html", context, partial="events")


AUDIT_EXPORT_ROWS = 2_000


@require_GET
@access.scoped(Can.TENANT_PAGES)
def audit_csv(request: DashboardRequest) -> HttpResponse:
    """The filtered trail as CSV: at most AUDIT_EXPORT_ROWS events, in at most 20 pages of 100
    (each a bounded page as on the trail itself: at most audit_queries.MAX_CALLS queries)."""
    filters = _audit_filters(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="audit-trail.csv"'
    writer = csv.writer(response)
    writer.writerow(["ts", "tenant_id", "actor_id", "actor", "action", "target_type", "target_id", "changes"])
    cursor, written = None, 0
    while written < AUDIT_EXPORT_ROWS:
        page = audit_queries.list_events(
            request.scope, month=request.GET.get("month") or None, cursor=cursor, limit=100, filters=filters
        )
        writer.writerows(
            safe_rows(
                [
                    event.ts.isoformat(),
                    event.tenant_id,
                    event.actor_id,
                    event.actor_label,
                    event.action,
                    event.target_type,
                    event.target_id,
                    "; ".join(f"{what}: {how}" for what, how in readable_changes(event.changes)),
                ]
                for event in page
            )
        )
        written += len(page)
        cursor = page.next_cursor
        if not cursor:
            break
    if cursor:
        response["X-Export-Truncated"] = "true"
    return response


def _query_without(request: DashboardRequest, *names: str) -> str:
    kept = request.GET.copy()
    for name in names:
        kept.pop(name, None)
    return kept.urlencode()


@dataclass(frozen=True)
class PlatformKeys:
    """Stands for a tenant in the key list: the group of platform keys that manage prices."""

    tenant_id: str
    name: str
    platform: bool = True


@require_http_methods(["GET", "POST"])
@access.scoped(Can.RUN_PLATFORM)
def api_key_list(request: DashboardRequest) -> HttpResponse:
    """Keys per tenant with their last use and requests per day over the last 7 days.

    DynamoDB calls, whatever the traffic: 1 query for the tenants, 1 query per tenant shown (at
    most 100 keys each), and ceil(7 × keys / 100) BatchGetItem calls for the usage rows.
    """
    tenants = queries.list_tenants()
    form = ApiKeyForm(request.POST or None, tenants=tenants, initial={"tenant_id": request.scope.tenant_id})
    new_token = new_key = None
    if request.method == "POST" and form.is_valid():
        try:
            created = apikeys.create_key(
                request.scope,
                form.cleaned_data["tenant_id"],
                form.cleaned_data["name"],
                form.cleaned_data["expires_on"],
            )
        except DashboardError as exc:
            add_service_errors(form, exc)
        else:
            new_token, new_key = created.token, created.key
            form = ApiKeyForm(tenants=tenants, initial={"tenant_id": created.key.tenant_id})
    keys_by_tenant = [
        (tenant, apikey_queries.list_keys(request.scope, tenant.tenant_id))
        for tenant in tenants
        if request.scope.tenant_id in (None, tenant.tenant_id)
    ]
    if request.scope.tenant_id is None:  # the platform's prices keys, filed apart from every tenant
        platform = PlatformKeys(apikeys.PRICES_KEYS, "Platform: model prices")
        keys_by_tenant.append((platform, apikey_queries.list_keys(request.scope, apikeys.PRICES_KEYS)))
    usage = apikey_queries.usage_last_7_days([key.key_id for _tenant, keys in keys_by_tenant for key in keys])
    rows_by_tenant = [
        (tenant, [(key, usage[key.key_id], apikeys.is_expired(key)) for key in keys])
        for tenant, keys in keys_by_tenant
    ]
    context = {"form": form, "new_token": new_token, "new_key": new_key, "rows_by_tenant": rows_by_tenant}
    return render_page(request, "accounts/api_keys.html", context)


@require_http_methods(["GET", "POST"])
@access.scoped(Can.RUN_PLATFORM)
def api_key_revoke(request: DashboardRequest, key_id: str) -> HttpResponse:
    """GET asks first (which key, which tenant, what stops working); POST revokes."""
    if request.method == "GET":
        key = apikey_queries.get_key(request.scope, key_id)
        context = {"key": key, "tenant": queries.get_tenant(key.tenant_id)}
        return render_page(request, "accounts/api_key_revoke.html", context)
    try:
        key = apikeys.revoke_key(request.scope, key_id, confirmed=request.POST.get("confirmed") == "1")
    except ValidationFailed as exc:
        messages.error(request, exc.message)
        return redirect("accounts:api_key_revoke", key_id=key_id)
    messages.success(request, f"API key “{key.name}” is revoked; requests with it now get 401.")
    return redirect("accounts:api_keys")


@require_GET
@access.scoped(Can.RUN_PLATFORM)
def tables(request: DashboardRequest) -> HttpResponse:
    infos = [describe(model) for model in all_models()]
    return render(request, "accounts/tables.html", {"tables": infos})


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
    return render(request, "accounts/users.html", context, status=status)


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
    return render(request, "accounts/user_edit.html", context, status=status)


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
