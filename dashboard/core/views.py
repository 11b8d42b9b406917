"""The error pages Django falls back to (handler403/404/500), answered as JSON under /api/."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def error_403(request: HttpRequest, exception=None) -> HttpResponse:
    return render(request, "403.html", status=403)


def error_404(request: HttpRequest, exception=None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"code": "not_found", "message": "No such endpoint."}}, status=404)
    return render(request, "404.html", status=404)


def error_500(request: HttpRequest) -> HttpResponse:
    # No context processors that could touch DynamoDB: a 500 page must not fail itself.
    from django.template import loader

    return HttpResponse(loader.get_template("500.html").render({}), status=500)
