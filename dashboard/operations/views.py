"""Platform health for staff: one page (thin: the figures come from queries.py)."""

from __future__ import annotations

from django.http import HttpResponse
from django.views.decorators.http import require_GET

from dashboard.accounts.access import scoped
from dashboard.core.http import DashboardRequest, render_page
from dashboard.core.scope import Can
from dashboard.operations import queries


@require_GET
@scoped(Can.RUN_PLATFORM)
def page(request: DashboardRequest) -> HttpResponse:
    return render_page(request, "operations/page.html", queries.operations_page(request.scope))
