"""Platform health and tenant erasure for staff (thin: the figures come from queries.py, the jobs from
erasure.py)."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dashboard.accounts.access import scoped
from dashboard.accounts.queries import list_tenants
from dashboard.core import worker
from dashboard.core.errors import DashboardError
from dashboard.core.forms import add_service_errors
from dashboard.core.http import DashboardRequest, render_page
from dashboard.core.scope import Can
from dashboard.operations import erasure, queries
from dashboard.operations.forms import EraseTenantForm


@require_GET
@scoped(Can.RUN_PLATFORM)
def page(request: DashboardRequest) -> HttpResponse:
    return render_page(request, "operations/page.html", queries.operations_page(request.scope))


@require_http_methods(["GET", "POST"])
@scoped(Can.RUN_PLATFORM)
def erase_start(request: DashboardRequest) -> HttpResponse:
    """Export and erase a tenant: the form (the tenant typed again) and every job so far. Call budget:
    1 Query (tenants) + 1 Query (jobs); a start adds 1 GetItem, 1 PutItem (the job), 1 PutItem (audit)."""
    tenants = [(tenant.tenant_id, f"{tenant.name} ({tenant.tenant_id})") for tenant in list_tenants()]
    form = EraseTenantForm(request.POST or None, tenants=tenants)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                job = erasure.start(
                    request.scope,
                    form.cleaned_data["tenant_id"],
                    export_only=form.cleaned_data["export_only"],
                )
            except DashboardError as exc:
                add_service_errors(form, exc)
            else:
                worker.wake()  # this process's worker starts at once when it runs here
                return redirect("operations:erase_job", job_id=job.job_id)
        status = 422
    jobs = list(reversed(erasure.list_jobs()))
    return render_page(request, "operations/erase.html", {"form": form, "jobs": jobs}, status=status)


def _rows(job) -> list[dict]:
    return [{"name": name, **progress} for name, progress in job.tables.items()]


@require_GET
@scoped(Can.RUN_PLATFORM)
def erase_job(request: DashboardRequest, job_id: str) -> HttpResponse:
    """One export and erase: its state and each kind of item's progress, polled while it runs. Call
    budget: 1 GetItem (the job), on the page and on each poll."""
    job = erasure.get_job(job_id)
    context = {"job": job, "rows": _rows(job), "active": job.status in erasure.ACTIVE}
    response = render_page(request, "operations/erase_job.html", context, partial="progress")
    if request.htmx and not context["active"]:
        response.status_code = 286  # nothing more to wait for: htmx stops polling
    return response


@require_POST
@scoped(Can.RUN_PLATFORM)
def erase_go(request: DashboardRequest, job_id: str) -> HttpResponse:
    """Erase a tenant whose export-only job is complete. Call budget: 1 GetItem, 1 PutItem, 1 PutItem (audit)."""
    try:
        erasure.erase_exported(request.scope, job_id)
    except DashboardError as exc:
        messages.error(request, str(exc))
    else:
        worker.wake()
    return redirect("operations:erase_job", job_id=job_id)


@require_GET
@scoped(Can.RUN_PLATFORM)
def erase_file(request: DashboardRequest, job_id: str, name: str) -> FileResponse:
    """Download one file of the export (`manifest` or a kind of item). Call budget: 1 GetItem (the job)."""
    job = erasure.get_job(job_id)
    if not job.manifest:
        raise Http404("The export is not complete.")
    if name == "manifest":
        filename = "manifest.json"
    elif name in job.manifest["tables"]:
        filename = job.manifest["tables"][name]["file"]
    else:
        raise Http404("No such file in this export.")
    path = erasure.export_dir(job) / filename
    if not path.exists():
        raise Http404("The export's files are no longer on this server.")
    return FileResponse(open(path, "rb"), as_attachment=True, filename=f"{job.tenant_id}-{filename}")  # noqa: SIM115 — FileResponse closes it
