"""Staff's export and erase of a tenant: every item of the tenant in every table, exported, then deleted.

The registry below lists, area by area, which of its items are a tenant's (each area declares its own in
its `erasure.py`: dashboard.dynamo.erase.TenantTable). A job (operations.models.TenantErasure) walks it
a bounded page at a time (`advance`): exporting writes each kind's items as NDJSON, gzip, under
`TENANT_EXPORT_DIR/<tenant>/<job>/`, then a manifest (items and sha256 per file); erasing deletes
them with batch writes, areas that find items through others first (sessions through users), the
tenant's own item last, and sweeps again until a whole sweep finds nothing (an item written while the
sweep had passed its place is caught by the next).

Resumable: after every page the job saves each kind's Scan cursor, counts and the export file's length
(on the job's item, conditionally on its version). A worker that stops mid-page leaves the file longer
than recorded: the next one cuts it back to the recorded length (each page is a gzip member of its own,
so the cut file is whole) and reads that page again; deleting twice deletes nothing more.

A job that erases (not an export-only one, until staff go on) cuts the tenant's access when it starts:
its item is marked as being erased in the transaction that saves the job and its audit event
(`_start_together`), and every way in (signing in, sessions, API keys, OTLP) refuses a tenant so marked
(dashboard.accounts.queries.tenant_being_erased). The mark goes with the tenant's item, erased last.

The start, the export's manifest and the end are recorded in the audit trail's platform partition,
which the erase leaves alone, and the job's item outlives the tenant: staff see afterwards what was
erased, when and by whom. The background worker (`run_queued`, every pass of `run_alerts`) and the
`erase_tenant` command drive the same `advance`.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import logging
from pathlib import Path

from django.conf import settings
from pynamodb.exceptions import PutError

from dashboard.accounts import erasure as accounts
from dashboard.accounts import services as accounts_services
from dashboard.accounts.queries import get_tenant
from dashboard.alerts import erasure as alerts
from dashboard.analytics import erasure as analytics
from dashboard.apikeys import erasure as apikeys
from dashboard.audit import erasure as audit_trail
from dashboard.audit import services as audit
from dashboard.core import clock
from dashboard.core.errors import Conflict, NotFound, ValidationFailed
from dashboard.core.ids import new_id
from dashboard.core.scope import STAFF, AccessScope
from dashboard.dynamo import erase
from dashboard.dynamo.erase import TenantTable
from dashboard.dynamo.transactions import save_together
from dashboard.experiments import erasure as experiments
from dashboard.flows import erasure as flows
from dashboard.marketplace import erasure as marketplace
from dashboard.operations import erasure_tables as operations
from dashboard.operations.models import TenantErasure
from dashboard.registry import erasure as registry

log = logging.getLogger(__name__)
PAGES_PER_PASS = 50  # a worker pass moves each job on this far, then the alerts have their turn
ACTIVE = ("exporting", "erasing")
KIND = "erasure"


def tenant_tables() -> list[TenantTable]:
    """Every kind of a tenant's items, in the order they are erased (see the module docstring)."""
    return [
        *analytics.tenant_tables(),
        *experiments.tenant_tables(),
        *registry.tenant_tables(),
        *flows.tenant_tables(),
        *marketplace.tenant_tables(),  # ratings are found through the tenant's users: before accounts
        *alerts.tenant_tables(),
        *audit_trail.tenant_tables(),
        *operations.tenant_tables(),
        *apikeys.tenant_tables(),  # key usage is found through the keys
        *accounts.tenant_tables(),  # sessions through users, the tenant's item last
    ]


def _fresh_progress() -> dict:
    return {
        table.name: {"cursor": None, "exported": 0, "erased": 0, "bytes": 0, "done": False}
        for table in tenant_tables()
    }


def export_dir(job: TenantErasure) -> Path:
    return Path(job.export_dir or settings.TENANT_EXPORT_DIR / job.tenant_id / job.job_id)


def _worker_scope(job: TenantErasure) -> AccessScope:
    return AccessScope(
        role=STAFF, actor_id=job.created_by_id or "worker", actor_label=job.created_by, tenant_id=None
    )


def start(
    scope: AccessScope, tenant_id: str, *, export_only: bool = False, export: bool = True
) -> TenantErasure:
    """Queue the export (and erase) of a tenant; the worker or the command does the work."""
    if not scope.is_staff:
        raise NotFound("No such page.")
    if not export and export_only:
        raise ValidationFailed("Nothing to do: an export-only job that skips the export.")
    tenant = get_tenant(tenant_id)  # NotFound for an unknown tenant
    running = [job for job in list_jobs() if job.tenant_id == tenant_id and job.status in ACTIVE]
    if running:
        raise Conflict(f"{tenant_id} already has an export or erase under way ({running[-1].job_id}).")
    job_id = new_id("erase")
    job = TenantErasure(
        kind=KIND,
        job_id=job_id,
        tenant_id=tenant_id,
        tenant_name=tenant.name,
        status="exporting" if export else "erasing",
        export_only=export_only,
        exported_first=export,
        export_dir=str(settings.TENANT_EXPORT_DIR / tenant_id / job_id) if export else None,
        tables=_fresh_progress(),
        created_by=scope.actor_label,
        created_by_id=scope.actor_id,
        created_at=clock.iso_ms(clock.now()),
    )
    what = "export only" if export_only else ("export, then erase" if export else "erase without export")
    changes = {"job": job_id, "what": what}
    if not export_only:
        changes["access"] = "cut"  # the tenant's people, keys and telemetry are refused from now on
    event = audit.build_event(
        scope, "tenant.erase.start", "tenant", tenant_id, tenant_id=audit.PLATFORM, changes=changes
    )
    _start_together(job, event, cut_access=not export_only)
    return job


def _start_together(job: TenantErasure, event, *, cut_access: bool) -> None:
    """Save the job and its audit event, and when it will erase, the tenant marked as being erased,
    in one transaction: access ends exactly when the erase is under way (README, "Export and erase")."""
    items = [job, event]
    if cut_access:
        items.append(accounts_services.erasing_tenant(job.tenant_id, job.job_id))
    save_together(items, f"{job.tenant_id} changed meanwhile; nothing was started. Try again.")


def erase_exported(scope: AccessScope, job_id: str) -> TenantErasure:
    """Staff go on to erase a tenant whose export-only job is complete."""
    job = get_job(job_id)
    if job.status != "exported":
        raise Conflict("Only a completed export can be erased.")
    job.status = "erasing"
    job.export_only = False
    for progress in job.tables.values():
        progress.update(cursor=None, done=False)
    job.heartbeat = clock.iso_ms(clock.now())
    event = audit.build_event(
        scope,
        "tenant.erase.go",
        "tenant",
        job.tenant_id,
        tenant_id=audit.PLATFORM,
        changes={"job": job_id, "access": "cut"},
    )
    _start_together(job, event, cut_access=True)
    return job


def get_job(job_id: str) -> TenantErasure:
    try:
        return TenantErasure.get(KIND, job_id, consistent_read=True)
    except TenantErasure.DoesNotExist:
        raise NotFound("No such erasure job.") from None


def list_jobs() -> list[TenantErasure]:
    """Every job, oldest first (one partition, a handful of items)."""
    return list(TenantErasure.query(KIND, consistent_read=True))


def _save(job: TenantErasure) -> bool:
    job.heartbeat = clock.iso_ms(clock.now())
    try:
        job.save()
    except PutError as exc:
        if "ConditionalCheckFailed" in str(exc):
            return False  # another worker moved it on: it carries on from there
        raise
    return True


def _next_table(job: TenantErasure) -> TenantTable | None:
    return next((table for table in tenant_tables() if not job.tables[table.name]["done"]), None)


def _append(path: Path, items: list[dict], recorded: int) -> int:
    """Append the items as one gzip member after the recorded length (cutting what a stopped worker
    wrote past it); the file's new length."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as raw:
        raw.truncate(recorded)
    if items:
        with gzip.open(path, "ab") as out:
            for item in items:
                out.write(json.dumps(item, sort_keys=True, default=_base64).encode() + b"\n")
    return path.stat().st_size if path.exists() else 0


def _base64(value: bytes) -> str:
    """Binary values (`B`, `BS`) as DynamoDB's own JSON export writes them."""
    return base64.b64encode(value).decode()


def _file(job: TenantErasure, table: TenantTable) -> Path:
    return export_dir(job) / f"{table.name}.ndjson.gz"


def _manifest(job: TenantErasure) -> dict:
    files = {}
    for table in tenant_tables():
        path = _file(job, table)
        files[table.name] = {
            "file": path.name,
            "items": job.tables[table.name]["exported"],
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "bytes": path.stat().st_size,
        }
    manifest = {
        "tenant_id": job.tenant_id,
        "job_id": job.job_id,
        "exported_at": clock.iso_ms(clock.now()),
        "tables": files,
    }
    (export_dir(job) / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return manifest


def advance(job: TenantErasure) -> bool:
    """One bounded step: one page of one kind of item, exported or erased, and the job saved; False
    when the job has nothing (more) to do now or another worker took it."""
    if job.status not in ACTIVE:
        return False
    table = _next_table(job)
    if table is not None:
        progress = job.tables[table.name]
        items, cursor = erase.page_of(table, job.tenant_id, progress["cursor"])
        if job.status == "exporting":
            progress["bytes"] = _append(_file(job, table), items, progress["bytes"])
            progress["exported"] += len(items)
        else:
            progress["erased"] += erase.delete(table.model, items)
            progress.setdefault("this_round", 0)
            progress["this_round"] += len(items)
        progress["cursor"] = cursor
        progress["done"] = cursor is None
        return _save(job)
    if job.status == "exporting":
        job.manifest = _manifest(job)
        audit.record(
            _worker_scope(job),
            "tenant.export",
            "tenant",
            job.tenant_id,
            tenant_id=audit.PLATFORM,
            changes={"job": job.job_id, "manifest": job.manifest},
        )
        job.status = "exported" if job.export_only else "erasing"
        for progress in job.tables.values():
            progress.update(cursor=None, done=False)
        return _save(job)
    # erasing, every kind swept: done when this sweep found nothing, else one more sweep
    job.rounds += 1
    found = sum(progress.pop("this_round", 0) for progress in job.tables.values())
    if found:
        for progress in job.tables.values():
            progress.update(cursor=None, done=False)
        return _save(job)
    job.status = "erased"
    job.finished_at = clock.iso_ms(clock.now())
    erased = {name: progress["erased"] for name, progress in job.tables.items()}
    saved = _save(job)
    if saved:
        audit.record(
            _worker_scope(job),
            "tenant.erased",
            "tenant",
            job.tenant_id,
            tenant_id=audit.PLATFORM,
            changes={"job": job.job_id, "erased": erased, "total": sum(erased.values())},
        )
    return saved


def run(job_id: str, pages: int | None = None) -> TenantErasure:
    """Move the job on until it stops (done, export-only complete, taken) or for `pages` steps."""
    job = get_job(job_id)
    while pages is None or pages > 0:
        if not advance(job):
            break
        if pages is not None:
            pages -= 1
    return get_job(job_id)


def run_queued() -> int:
    """Move every job under way on by a bounded number of steps (the background worker); how many."""
    moved = 0
    for job in list_jobs():
        if job.status not in ACTIVE:
            continue
        try:
            run(job.job_id, PAGES_PER_PASS)
        except Exception as exc:  # noqa: BLE001 — logged; the job resumes from its last page next pass
            log.error("erasure job %s of %s stopped", job.job_id, job.tenant_id, exc_info=exc)
        moved += 1
    return moved
