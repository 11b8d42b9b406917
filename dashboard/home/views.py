from __future__ import annotations

from django.http import HttpResponse
from django.views.decorators.http import require_GET

from dashboard.accounts.access import scoped
from dashboard.core.http import DashboardRequest, render_page
from dashboard.home.queries import overview


@require_GET
@scoped()
def home(request: DashboardRequest) -> HttpResponse:
    return render_page(request, "home/home.html", {"overview": overview(request.scope)})
