from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard.accounts.access import scoped


@scoped()
def overview(request: HttpRequest) -> HttpResponse:
    return render(request, "placeholder.html", {"title": "Cost analytics"})


@scoped()
def executions(request: HttpRequest) -> HttpResponse:
    return render(request, "placeholder.html", {"title": "Executions"})
