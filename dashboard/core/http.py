"""Request helpers shared by pages and the JSON API; first, answering a page: the whole document or one named partial of it (radiofeed's render_partial_response).

htmx asks again for a page whose history snapshot it lost (Back after the cache dropped it) with both
`HX-Request` and `HX-History-Restore-Request`: that request must get the whole document, or the sidebar
and top bar vanish. Every view therefore ends in `render_page`, which decides once for the project.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django_htmx.middleware import HtmxDetails

from dashboard.core.csv_cells import safe_rows
from dashboard.core.inputs import parse_limit
from dashboard.core.scope import AccessScope


class DashboardRequest(HttpRequest):
    """What the middleware adds to every request (for type checkers and readers): every view's
    `request` is one."""

    scope: AccessScope | None
    htmx: HtmxDetails
    varies_on_htmx: bool  # set when the view asked `wants_partial`


def wants_partial(request: HttpRequest) -> bool:
    """Whether to answer with a fragment. Asking makes the answer vary by `HX-Request`, which
    EdgeMiddleware then says in `Vary`."""
    request.varies_on_htmx = True
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


def render_page(
    request: HttpRequest,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    partial: str | None = None,
    by_target: Mapping[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The whole page for normal and history-restore requests; for other htmx requests the partial named
    for the request's `HX-Target` in `by_target`, else `partial` (None: the whole page)."""
    if (partial or by_target) and wants_partial(request):
        name = (by_target or {}).get(request.htmx.target or "") or partial
        if name:
            template = f"{template}#{name}"
    response = render(request, template, context, status=status)
    if by_target:  # which fragment depends on the target too
        patch_vary_headers(response, ("HX-Target",))
    return response


def limit_param(request: HttpRequest, default: int, most: int, name: str = "limit") -> int:
    """`?limit=` as a page size from 1 to `most` (422 naming it otherwise), `default` when absent."""
    return parse_limit(request.GET.get(name), default, most, name)


def csv_response(filename: str, rows: Iterable[Iterable[Any]], *, truncated: bool = False) -> HttpResponse:
    """A CSV download. Cells a spreadsheet would run as formulas are made inert (tenant-chosen names,
    `core.csv_cells`); `X-Export-Truncated: true` says more rows matched than were written."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    if truncated:
        response["X-Export-Truncated"] = "true"
    csv.writer(response).writerows(safe_rows(rows))
    return response
