"""`manage.py reprice [--tenant T] [--since DAY] [--until DAY] [--include-client]`: bring the past to
today's prices (dashboard.analytics.repricing).

Without `--since`, the range starts at the earliest day a staff price change left un-re-priced (the
overview's "prices changed" notice) and ends today. Running it again, or at the same time as another
run or as live ingestion, counts nothing twice; an interrupted run, run again, finishes.
"""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from dashboard.analytics import queries, repricing
from dashboard.core import clock
from dashboard.core.errors import NotFound, ValidationFailed
from dashboard.core.scope import STAFF, AccessScope

OPERATOR = AccessScope(role=STAFF, actor_id="manage.py", actor_label="manage.py reprice", tenant_id=None)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a day: use YYYY-MM-DD.") from None


class Command(BaseCommand):
    help = "Re-price executions, model calls and rollups of a range at the prices in force now."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="one tenant (default: every tenant)")
        parser.add_argument("--since", help="first day, YYYY-MM-DD (default: the earliest changed day)")
        parser.add_argument("--until", help="last day, YYYY-MM-DD (default: today)")
        parser.add_argument(
            "--include-client", action="store_true", help="re-price costs the clients sent as well"
        )

    def handle(self, *args, tenant=None, since=None, until=None, include_client=False, **options):
        today = clock.now().date()
        last = _day(until) if until else today
        first = _day(since) if since else None
        if first is None:
            changed = queries.prices_changed_since(tenant)
            if changed is None:
                self.stdout.write("Every figure is at today's prices: nothing to re-price (use --since).")
                return
            first = date.fromisoformat(changed)
        try:
            job = repricing.start(OPERATOR, tenant, first, last, include_client, queued=False)
        except NotFound:
            raise CommandError(f"There is no tenant {tenant!r}.") from None
        except ValidationFailed as exc:
            raise CommandError(" ".join([exc.message, *exc.fields.values()])) from None
        self.stdout.write(f"Re-pricing {first} to {last} for {tenant or 'every tenant'} (run {job.job_id})…")
        progress = repricing.run(job)
        self.stdout.write(
            self.style.SUCCESS(
                f"Done: {progress.changed:,} of {progress.seen:,} executions changed, "
                f"cost {progress.delta_micro_usd / 1_000_000:+,.2f} USD; {progress.skipped:,} kept as sent."
            )
        )
