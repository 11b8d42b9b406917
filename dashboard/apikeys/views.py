"""The API keys page: keys per tenant with their use, making one, and revoking one (staff)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from dashboard.accounts import access
from dashboard.accounts import queries as accounts
from dashboard.apikeys import queries, services
from dashboard.apikeys.forms import ApiKeyForm
from dashboard.core.errors import DashboardError, ValidationFailed
from dashboard.core.forms import add_service_errors
from dashboard.core.http import DashboardRequest, render_page
from dashboard.core.scope import Can


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
    tenants = accounts.list_tenants()
    form = ApiKeyForm(request.POST or None, tenants=tenants, initial={"tenant_id": request.scope.tenant_id})
    new_token = new_key = None
    if request.method == "POST" and form.is_valid():
        try:
            created = services.create_key(
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
        (tenant, queries.list_keys(request.scope, tenant.tenant_id))
        for tenant in tenants
        if request.scope.tenant_id in (None, tenant.tenant_id)
    ]
    if request.scope.tenant_id is None:  # the platform's prices keys, filed apart from every tenant
        platform = PlatformKeys(services.PRICES_KEYS, "Platform: model prices")
        keys_by_tenant.append((platform, queries.list_keys(request.scope, services.PRICES_KEYS)))
    usage = queries.usage_last_7_days([key.key_id for _tenant, keys in keys_by_tenant for key in keys])
    rows_by_tenant = [
        (tenant, [(key, usage[key.key_id], services.is_expired(key)) for key in keys])
        for tenant, keys in keys_by_tenant
    ]
    context = {"form": form, "new_token": new_token, "new_key": new_key, "rows_by_tenant": rows_by_tenant}
    return render_page(request, "apikeys/list.html", context)


@require_http_methods(["GET", "POST"])
@access.scoped(Can.RUN_PLATFORM)
def api_key_revoke(request: DashboardRequest, key_id: str) -> HttpResponse:
    """GET asks first (which key, which tenant, what stops working); POST revokes."""
    if request.method == "GET":
        key = queries.get_key(request.scope, key_id)
        context = {"key": key, "tenant": accounts.get_tenant(key.tenant_id)}
        return render_page(request, "apikeys/revoke.html", context)
    try:
        key = services.revoke_key(request.scope, key_id, confirmed=request.POST.get("confirmed") == "1")
    except ValidationFailed as exc:
        messages.error(request, exc.message)
        return redirect("apikeys:revoke", key_id=key_id)
    messages.success(request, f"API key “{key.name}” is revoked; requests with it now get 401.")
    return redirect("apikeys:list")
