"""`manage.py rescan_templates [--all]`: strip the secrets today's detection finds from templates other
tenants and moderators can read (listed, in review, rejected; `--all`: every template), each change
audited as `template.rescan`. Running it again changes nothing.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from dashboard.core.scope import STAFF, AccessScope
from dashboard.marketplace import queries, services
from dashboard.marketplace.models import AgentTemplate

OPERATOR = AccessScope(
    role=STAFF, actor_id="manage.py", actor_label="manage.py rescan_templates", tenant_id=None
)


class Command(BaseCommand):
    help = "Re-strip secrets from published templates into required inputs (idempotent, audited)."

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="every template, drafts too (scans the table)")

    def handle(self, *args, all=False, **options):  # noqa: A002 — the option's name
        if all:  # an operation, never a request: the whole table
            ids = [t.template_id for t in AgentTemplate.scan(attributes_to_get=["template_id"])]
        else:
            ids = queries.published_template_ids()
        changed = 0
        for template_id in ids:
            taken = services.restrip_template(OPERATOR, template_id)
            if taken:
                changed += 1
                self.stdout.write(f"{template_id}: took out {', '.join(taken)}")
        self.stdout.write(self.style.SUCCESS(f"Scanned {len(ids)} templates; {changed} re-stripped."))
