import random
import time
from importlib import import_module

from django.core.management.base import BaseCommand

from dashboard.accounts.demo import DEMO_INVITATION_PATH, demo_logins
from dashboard.accounts.models import Tenant
from dashboard.core import clock
from dashboard.core.seeding import DEMO_PASSWORD, SeedContext
from dashboard.dynamo.commands import database_errors_as_sentences
from dashboard.dynamo.tables import ensure_tables

# Each area's demo.py fills its own tables; later areas use what earlier ones made.
AREAS = ["accounts", "flows", "registry", "marketplace", "analytics", "experiments", "alerts"]


def _demo_module(area: str):
    try:
        return import_module(f"dashboard.{area}.demo")
    except ModuleNotFoundError as exc:
        if exc.name not in (f"dashboard.{area}", f"dashboard.{area}.demo"):
            raise  # the module exists but something it imports does not
    return None


def seed_areas(ctx: SeedContext) -> None:
    """Every area's demo data, in order (the command, the benchmarks and the test fixtures)."""
    for area in AREAS:
        module = _demo_module(area)
        if module is not None:
            module.seed(ctx)


class Command(BaseCommand):
    help = "Fill every table with believable, deterministic demo data."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=7, help="random seed (same seed, same data)")
        parser.add_argument(
            "--executions", type=int, default=12_000, help="agent executions over 90 days (most with steps)"
        )
        parser.add_argument("--templates", type=int, default=60, help="marketplace templates")
        parser.add_argument("--models", type=int, default=8, help="registered models per tenant")
        parser.add_argument("--log-lines", type=int, default=600, help="log lines per finished run")
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when demo tenants already exist"
        )
        parser.add_argument("--quiet", action="store_true", help="no progress bars")

    def handle(self, **options):
        with database_errors_as_sentences():
            self._seed(options)

    def _seed(self, options):
        list(ensure_tables())
        if options["if_empty"] and list(Tenant.by_name.query("tenant", limit=1)):
            self.stdout.write("Demo data already loaded.")
            self._print_logins(demo_logins())
            return
        ctx = SeedContext(
            rng=random.Random(options["seed"]), now=clock.now(), options=options, quiet=options["quiet"]
        )
        started = time.monotonic()
        seed_areas(ctx)
        self.stdout.write(self.style.SUCCESS(f"Demo data loaded in {time.monotonic() - started:.0f} s."))
        self._print_logins(ctx.logins)

    def _print_logins(self, logins):
        self.stdout.write(f"Sign in with any of these (password “{DEMO_PASSWORD}”):")
        for role, tenant, email in logins:
            self.stdout.write(f"  {role:<13} {tenant:<12} {email}")
        self.stdout.write(f"A pending invitation to acme (colleague@acme.test): {DEMO_INVITATION_PATH}")
