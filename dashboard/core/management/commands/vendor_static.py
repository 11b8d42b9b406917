from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dashboard.core import vendor


class Command(BaseCommand):
    help = "Copy the front-end files pages use from node_modules into VENDOR_ROOT (see dashboard/core/vendor.py)."

    def add_arguments(self, parser):
        parser.add_argument("--tests", action="store_true", help="also the files only tests use (axe-core)")

    def handle(self, tests, **options):
        try:
            names = vendor.build(settings.BASE_DIR / "node_modules", settings.VENDOR_ROOT, for_tests=tests)
        except FileNotFoundError as exc:
            raise CommandError(str(exc)) from None
        if options["verbosity"] > 1:
            self.stdout.write("\n".join(names))
