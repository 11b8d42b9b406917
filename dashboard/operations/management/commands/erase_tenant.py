"""`manage.py erase_tenant <tenant> [--export-only] [--no-export] [--yes]`: staff's export and erase
from a shell (dashboard.operations.erasure). Continues the tenant's job under way if there is one
(after a crash, say), else starts one; prints each kind's progress."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from dashboard.core.errors import DashboardError
from dashboard.core.scope import STAFF, AccessScope
from dashboard.operations import erasure

OPERATOR = AccessScope(
    role=STAFF, actor_id="operator", actor_label="operator (manage.py erase_tenant)", tenant_id=None
)


class Command(BaseCommand):
    help = "Export every item of one tenant (NDJSON.gz per table, with a manifest), then erase them all."

    def add_arguments(self, parser):
        parser.add_argument("tenant")
        parser.add_argument("--export-only", action="store_true", help="Export, and erase nothing.")
        parser.add_argument("--no-export", action="store_true", help="Erase without exporting first.")
        parser.add_argument("--yes", action="store_true", help="Do not ask before erasing.")
        parser.add_argument(
            "--pages", type=int, default=None, help="Stop after this many steps (resume later)."
        )

    def handle(self, *args, tenant, export_only, no_export, yes, pages, **options):
        under_way = [
            job for job in erasure.list_jobs() if job.tenant_id == tenant and job.status in erasure.ACTIVE
        ]
        if under_way:
            job = under_way[-1]
            self.stdout.write(f"Continuing {job.job_id} ({job.status}).")
        else:
            if not export_only and not yes:
                answer = input(f"Erase every item of tenant {tenant}? Type the tenant id to go on: ")
                if answer.strip() != tenant:
                    raise CommandError("Nothing was done.")
            try:
                job = erasure.start(OPERATOR, tenant, export_only=export_only, export=not no_export)
            except DashboardError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"Started {job.job_id}.")
        job = erasure.run(job.job_id, pages)
        for name, progress in job.tables.items():
            if progress["exported"] or progress["erased"]:
                self.stdout.write(f"  {name}: {progress['exported']} exported, {progress['erased']} erased")
        where = f" Export: {erasure.export_dir(job)}" if job.exported_first else ""
        self.stdout.write(f"{job.job_id}: {job.status}.{where}")
