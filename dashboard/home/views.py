from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dashboard.accounts.access import scoped
from dashboard.core.http import DashboardRequest
from dashboard.home.queries import overview


@require_GET
@scoped()
def home(request: DashboardRequest) -> HttpResponse:
    return render(request, "home/home.html", {"overview": overview(request.scope)})
