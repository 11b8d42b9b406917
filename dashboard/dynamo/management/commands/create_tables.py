from django.core.management.base import BaseCommand

from dashboard.dynamo.commands import database_errors_as_sentences
from dashboard.dynamo.tables import ensure_tables


class Command(BaseCommand):
    help = "Create every missing DynamoDB table (with its indexes and TTL); existing tables are left as they are."

    def handle(self, **options):
        with database_errors_as_sentences():
            for name, done in ensure_tables():
                self.stdout.write(f"{name:<40} {done}")
