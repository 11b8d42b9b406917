from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard.accounts.access import scoped


@scoped()
def list(request: HttpRequest) -> HttpResponse:
    return render(request, "placeholder.html", {"title": "Flows"})
