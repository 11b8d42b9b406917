"""`manage.py index_sessions [--tenant T]`: put executions recorded before the session index into it.

Executions carry `session_key` (tenant#session, the sparse session index the session page and the
session filter read) since December 2026; older ones with a `session_id` lack it and do not show on
their session's page. This adds it, a page at a time per tenant (idempotent: run it again at will).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from dashboard.accounts.queries import get_tenant, list_tenants
from dashboard.analytics import services


class Command(BaseCommand):
    help = "Add older executions that have a session to the session index (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="one tenant (default: every tenant)")

    def handle(self, *args, tenant: str | None = None, **options):
        tenants = [get_tenant(tenant).tenant_id] if tenant else [t.tenant_id for t in list_tenants()]
        for tenant_id in tenants:
            total, cursor = 0, None
            while True:
                updated, cursor = services.index_sessions_page(tenant_id, cursor)
                total += updated
                if not cursor:
                    break
            self.stdout.write(
                f"{tenant_id}: {total} execution{'s' if total != 1 else ''} added to the session index"
            )
