from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard.accounts.access import scoped
from dashboard.home.services import overview


@scoped()
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home/home.html", {"overview": overview(request.scope)})
