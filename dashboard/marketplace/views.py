from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard.accounts.access import scoped


@scoped()
def browse(request: HttpRequest) -> HttpResponse:
    return render(request, "placeholder.html", {"title": "Templates"})


@scoped()
def queue(request: HttpRequest) -> HttpResponse:
    return render(request, "placeholder.html", {"title": "Moderation queue"})
