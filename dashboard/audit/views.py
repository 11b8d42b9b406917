"""The audit trail page and its CSV export (a tenant admin's own tenant; staff any or all)."""

from __future__ import annotations

import re

from django.http import HttpResponse
from django.views.decorators.http import require_GET

from dashboard.accounts import access
from dashboard.accounts import queries as accounts
from dashboard.audit import queries
from dashboard.audit.templatetags.audit_format import readable_changes
from dashboard.core.http import DashboardRequest, csv_response, render_page
from dashboard.core.scope import Can


def _audit_filters(request: DashboardRequest) -> queries.AuditFilters:
    """The trail's filters from the query string; sign-ins are hidden unless asked for (the form
    sends `signins=show` before its checkbox, whose `hide` wins when ticked)."""
    action = request.GET.get("action") or ""
    actor = request.GET.get("actor") or ""
    target = request.GET.get("target") or None
    # Values outside these shapes match nothing anyone recorded: they are dropped, not queried.
    return queries.AuditFilters(
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

    DynamoDB calls: the page at most queries.MAX_CALLS queries (one when nothing is filtered); the
    people for the actor filter and the names 3 queries (accounts' queries.people_acting_in).
    """
    filters = _audit_filters(request)
    page = queries.list_events(
        request.scope,
        month=request.GET.get("month") or None,
        cursor=request.GET.get("cursor"),
        filters=filters,
    )
    people = accounts.people_acting_in(request.scope)
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
    return render_page(request, "audit/trail.html", context, partial="events")


AUDIT_EXPORT_ROWS = 2_000


@require_GET
@access.scoped(Can.TENANT_PAGES)
def audit_csv(request: DashboardRequest) -> HttpResponse:
    """The filtered trail as CSV: at most AUDIT_EXPORT_ROWS events, in at most 20 pages of 100
    (each a bounded page as on the trail itself: at most queries.MAX_CALLS queries)."""
    filters = _audit_filters(request)
    rows = [["ts", "tenant_id", "actor_id", "actor", "action", "target_type", "target_id", "changes"]]
    cursor = None
    while len(rows) - 1 < AUDIT_EXPORT_ROWS:
        page = queries.list_events(
            request.scope, month=request.GET.get("month") or None, cursor=cursor, limit=100, filters=filters
        )
        rows.extend(
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
        cursor = page.next_cursor
        if not cursor:
            break
    return csv_response("audit-trail.csv", rows, truncated=bool(cursor))


def _query_without(request: DashboardRequest, *names: str) -> str:
    kept = request.GET.copy()
    for name in names:
        kept.pop(name, None)
    return kept.urlencode()
