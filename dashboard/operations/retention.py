"""The retention job: a tenant's shortened retention brought to the items already stored.

Staff shorten a tenant's retention (dashboard.accounts.services.set_retention), which queues a job on the
tenant's item. The background worker (`run_queued`, every pass of `manage.py run_alerts --loop`) then, a
page at a time: reads the traces of the tenant's OTLP spans (reached through the executions recorded from
them, dashboard.analytics.services.apply_span_retention_page), bringing each span's expiry forward and
removing its inputs/outputs past their shorter period; reads the tenant's executions through the tenant
index and does the same to them (apply_retention_page); then the tenant's run log lines
(dashboard.experiments.services.apply_log_retention_page). Rollups are never touched and spans keep
their tokens and cost: the tenant's cost figures stay whole.

Resumable, as re-pricing is: after every page the job records its cursor (DynamoDB's last evaluated
key) and counts on the tenant's item, so a worker that stops leaves a job the next one continues from
that page (its heartbeat older than STALE_AFTER). Every update only ever shortens, so a page done
twice changes nothing the second time. A job staff replace meanwhile (another change) is dropped at its
next page and the new one starts from the beginning.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from dashboard.accounts import services as accounts
from dashboard.accounts.queries import get_tenant, list_tenants
from dashboard.analytics import services as analytics
from dashboard.core import clock
from dashboard.dynamo import metrics
from dashboard.experiments import services as experiments

log = logging.getLogger(__name__)
STALE_AFTER = timedelta(minutes=5)
# Spans first: they are found through the tenant's executions, which a shorter retention of executions
# lets DynamoDB delete once the executions phase has brought their expiry forward.
PHASES = ("spans", "executions", "logs", "done")


def run(
    tenant_id: str, pages: int | None = None, on_page: Callable[[dict], None] | None = None
) -> dict | None:
    """Work on the tenant's retention job until it is done (or for `pages` pages); its state after."""
    job = get_tenant(tenant_id).retention_job
    if not job or job["status"] == "done":
        return job
    target, now = job["target"], clock.now()
    job["status"] = "running"
    with metrics.tenant_scope(tenant_id):  # the job's DynamoDB calls are the tenant's cost to serve
        while job["phase"] != "done" and (pages is None or pages > 0):
            if job["phase"] == "spans":
                spans = analytics.apply_span_retention_page(
                    tenant_id, target["executions_days"], target["content_days"], now, job["cursor"]
                )
                job["spans_seen"] = job.get("spans_seen", 0) + spans.seen
                job["spans_expired"] = job.get("spans_expired", 0) + spans.expired
                job["spans_content_removed"] = job.get("spans_content_removed", 0) + spans.content_removed
                cursor = spans.next_cursor
            elif job["phase"] == "executions":
                page = analytics.apply_retention_page(
                    tenant_id, target["executions_days"], target["content_days"], now, job["cursor"]
                )
                job["seen"] += page.seen
                job["expired"] += page.expired
                job["content_removed"] += page.content_removed
                cursor = page.next_cursor
            else:
                seen, changed, cursor = experiments.apply_log_retention_page(
                    tenant_id, target["logs_days"], job["cursor"]
                )
                job["seen"] += seen
                job["logs_expired"] += changed
            job["cursor"] = cursor
            if cursor is None:
                job["phase"] = PHASES[PHASES.index(job["phase"]) + 1]
            if job["phase"] == "done":
                job["status"] = "done"
                job["finished_at"] = clock.iso_ms(clock.now())
            if not accounts.save_retention_job(tenant_id, job):
                return None  # replaced by a newer change: the worker takes that one next
            if on_page is not None:
                on_page(job)
            if pages is not None:
                pages -= 1
    return job


def run_queued() -> int:
    """Run every tenant's queued retention job, and any a stopped worker left running; how many ran."""
    stale = clock.iso_ms(clock.now() - STALE_AFTER)
    ran = 0
    for tenant in list_tenants():
        job = tenant.retention_job
        if not job:
            continue
        if job["status"] == "queued" or (job["status"] == "running" and job.get("heartbeat", "") < stale):
            try:
                run(tenant.tenant_id)
            except Exception as exc:  # noqa: BLE001 — logged; the job resumes from its last page next pass
                log.error("retention job of %s stopped", tenant.tenant_id, exc_info=exc)
            ran += 1
    return ran
