"""Platform health for staff: one page (thin: the figures come from queries.py)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from dashboard.accounts.access import scoped
from dashboard.accounts.scope import STAFF
from dashboard.core.http import render_page
from dashboard.operations import queries


@require_GET
@scoped(roles=(STAFF,))
def page(request: HttpRequest) -> HttpResponse:
    return render_page(request, "operations/page.html", queries.operations_page(request.scope))
