"""Alert rules page (rules, delivery settings, delivery log) and the notification list (thin)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dashboard.accounts.access import scoped
from dashboard.alerts import delivery, metrics, queries, services, webhooks
from dashboard.alerts.forms import BudgetDecisionForm, BudgetRequestForm, ChannelForm, RuleForm
from dashboard.alerts.models import BUDGET_REQUEST_STATES, RULE_KINDS
from dashboard.core.errors import Conflict, ValidationFailed
from dashboard.core.forms import add_service_errors
from dashboard.core.http import DashboardRequest, render_page
from dashboard.core.scope import Can

RULES = "alerts/rules.html"
NOTIFICATIONS = "alerts/notifications.html"


def _rules_context(request: DashboardRequest, rule_form=None, channel_form=None) -> dict:
    try:
        tenant_id = services.tenant_for(request.scope)
    except ValidationFailed as exc:
        return {"no_tenant": exc.message}
    channel = queries.channel(tenant_id)
    rules = queries.rules(tenant_id)
    for rule in rules:
        rule.watches = metrics.describe(rule) if rule.kind == "metric" else ""
    return {
        "tenant_id": tenant_id,
        "rules": rules,
        "kinds": RULE_KINDS,
        "rule_form": rule_form or RuleForm(),
        "channel": channel,
        "signing_secret": webhooks.signing_secret(channel.webhook_secret) if channel.webhook_secret else "",
        "channels": [
            (name, label, delivery.configured(name, channel)) for name, label in services.CHANNELS.items()
        ],
        "channel_form": channel_form or ChannelForm.for_channel(channel),
        "firings": queries.recent_firings(tenant_id),
    }


@require_GET
@scoped(Can.TENANT_PAGES)
def rules(request: DashboardRequest) -> HttpResponse:
    return render_page(request, RULES, _rules_context(request))


@require_POST
@scoped(Can.TENANT_PAGES)
def create(request: DashboardRequest) -> HttpResponse:
    form = RuleForm(request.POST)
    if form.is_valid():
        try:
            rule = services.create_rule(request.scope, None, form.rule_input())
        except (ValidationFailed, Conflict) as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Alert rule “{rule.name}” created.")
            return redirect("alerts:rules")
    return render_page(request, RULES, _rules_context(request, rule_form=form), status=422)


@require_http_methods(["GET", "POST"])
@scoped(Can.TENANT_PAGES)
def edit(request: DashboardRequest, rule_id: str) -> HttpResponse:
    tenant_id = services.tenant_for(request.scope)
    rule = queries.rule(tenant_id, rule_id)
    status = 200
    if request.method == "POST":
        form = RuleForm(request.POST)
        if form.is_valid():
            try:
                action = request.POST.get("action")
                if action == "delete":
                    services.delete_rule(request.scope, None, rule_id, form.cleaned_data["version"])
                    messages.success(request, f"Alert rule “{rule.name}” deleted.")
                    return redirect("alerts:rules")
                services.update_rule(
                    request.scope, None, rule_id, form.rule_input(), form.cleaned_data["version"]
                )
            except (ValidationFailed, Conflict) as exc:
                form.add_service_errors(exc)
                status = 409 if isinstance(exc, Conflict) else 422
            else:
                messages.success(request, "Alert rule saved.")
                return redirect("alerts:rules")
        else:
            status = 422
    else:
        form = RuleForm.for_rule(rule)
    return render_page(request, "alerts/edit.html", {"rule": rule, "form": form}, status=status)


@require_POST
@scoped(Can.TENANT_PAGES)
def channel(request: DashboardRequest) -> HttpResponse:
    form = ChannelForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.save_channel(
                request.scope,
                None,
                data["webhook_url"],
                data["email"],
                data["version"],
                new_secret=data["new_secret"],
                slack_url=data["slack_url"],
                teams_url=data["teams_url"],
            )
        except (ValidationFailed, Conflict) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Delivery settings saved.")
            return redirect("alerts:rules")
    return render_page(request, RULES, _rules_context(request, channel_form=form), status=422)


@require_POST
@scoped(Can.TENANT_PAGES)
def send_test(request: DashboardRequest, channel_name: str) -> HttpResponse:
    """ "Send a test" of one channel: the receiver's answer shown in place (htmx) or on the page.
    Calls: one GetItem (the channel), then one outbound POST bounded by the webhook deadline."""
    outcome = services.send_test(request.scope, None, channel_name)
    context = {"name": channel_name, "label": services.CHANNELS[channel_name], "outcome": outcome}
    if request.htmx:
        return render_page(request, "alerts/test_result.html", context)
    (messages.success if outcome.ok else messages.error)(
        request, f"Test to {services.CHANNELS[channel_name]}: {outcome.detail}"
    )
    return redirect("alerts:rules")


@require_GET
@scoped(Can.TENANT_PAGES)
def notifications(request: DashboardRequest) -> HttpResponse:
    try:
        tenant_id = services.tenant_for(request.scope)
    except ValidationFailed as exc:
        return render_page(request, NOTIFICATIONS, {"no_tenant": exc.message})
    page = queries.notifications(tenant_id, cursor=request.GET.get("cursor"))  # a bad cursor: its own 400
    return render_page(
        request,
        NOTIFICATIONS,
        {"page": page, "unread": queries.unread_count(tenant_id)},
        partial="notification-list",
    )


@require_POST
@scoped(Can.TENANT_PAGES)
def read_all(request: DashboardRequest) -> HttpResponse:
    count = services.mark_all_read(request.scope, None)
    messages.success(request, f"{count} notification(s) marked as read.")
    return redirect("alerts:notifications")


@require_GET
@scoped(Can.TENANT_PAGES)
def unread_badge(request: DashboardRequest) -> HttpResponse:
    """The sidebar's unread count, fetched after the page loads (one Select=COUNT query)."""
    try:
        count = queries.unread_count(services.tenant_for(request.scope))
    except ValidationFailed:
        count = 0
    return render_page(request, "alerts/badge.html", {"count": count, "cap": queries.UNREAD_CAP})


@require_http_methods(["GET", "POST"])
def confirm_email(request: DashboardRequest, token: str) -> HttpResponse:
    """An address confirms it wants a tenant's alerts: GET asks (a mail scanner that follows links
    confirms nothing), POST confirms. No sign-in: the recipient may have no account. One GetItem,
    then one conditional update."""
    if request.method == "POST":
        try:
            channel = services.confirm_email(token)
        except ValidationFailed as exc:
            return render_page(request, "alerts/confirm_email.html", {"error": exc.message}, status=422)
        return render_page(request, "alerts/confirm_email.html", {"confirmed": channel.email})
    return render_page(request, "alerts/confirm_email.html", {"token": token})


@require_POST
@scoped(Can.TENANT_PAGES)
def confirm_again(request: DashboardRequest) -> HttpResponse:
    try:
        channel = services.send_confirmation_again(request.scope, None)
    except ValidationFailed as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"A new confirmation link is on its way to {channel.email}.")
    return redirect("alerts:rules")


BUDGET_REQUESTS = "alerts/budget_requests.html"


def _budget_context(request: DashboardRequest, ask_form=None, decision_errors=None) -> dict:
    """Staff: the queue of open requests of every tenant. A tenant admin: the form and their requests."""
    if request.scope.is_staff:
        return {
            "staff": True,
            "queue": [
                (
                    item,
                    BudgetDecisionForm(
                        initial={
                            "action": "approve",
                            "amount": f"{item.amount_micro_usd / 1_000_000:.2f}",
                            "version": item.version,
                        }
                    ),
                )
                for item in queries.open_budget_requests()
            ],
            "decision_errors": decision_errors or {},
            "states": BUDGET_REQUEST_STATES,
        }
    tenant_id = services.tenant_for(request.scope)
    return {
        "staff": False,
        "ask_form": ask_form or BudgetRequestForm(),
        "requests": queries.budget_requests(tenant_id),
        "states": BUDGET_REQUEST_STATES,
    }


@require_GET
@scoped(Can.TENANT_PAGES)
def budget_requests(request: DashboardRequest) -> HttpResponse:
    """Budget increase requests. Calls: staff, one query of the sparse open index; a tenant admin, one
    query of their tenant's requests."""
    return render_page(request, BUDGET_REQUESTS, _budget_context(request))


@require_POST
@scoped(Can.TENANT_PAGES)
def ask_budget(request: DashboardRequest) -> HttpResponse:
    form = BudgetRequestForm(request.POST)
    if form.is_valid():
        try:
            services.ask_budget_increase(request.scope, form.amount_micro_usd(), form.cleaned_data["reason"])
        except (ValidationFailed, Conflict) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request, "Your request is with staff; you will be told their answer here and by e-mail."
            )
            return redirect("alerts:budget_requests")
    return render_page(request, BUDGET_REQUESTS, _budget_context(request, ask_form=form), status=422)


@require_POST
@scoped(Can.RUN_PLATFORM)
def decide_budget(request: DashboardRequest, tenant_id: str, request_id: str) -> HttpResponse:
    form = BudgetDecisionForm(request.POST)
    status = 422
    if form.is_valid():
        data = form.cleaned_data
        try:
            approve = data["action"] == "approve"
            decided = services.decide_budget_request(
                request.scope,
                tenant_id,
                request_id,
                approve,
                form.amount_micro_usd() if approve else None,
                data["reason"],
                data["version"],
            )
        except (ValidationFailed, Conflict) as exc:
            status = 409 if isinstance(exc, Conflict) else 422
            errors = {request_id: exc.message + " " + " ".join(exc.fields.values())}
            return render_page(
                request, BUDGET_REQUESTS, _budget_context(request, decision_errors=errors), status=status
            )
        messages.success(
            request, f"Request of {decided.tenant_id} {decided.status}; the tenant has been told."
        )
        return redirect("alerts:budget_requests")
    errors = {request_id: "Choose approve or refuse."}
    return render_page(
        request, BUDGET_REQUESTS, _budget_context(request, decision_errors=errors), status=status
    )
