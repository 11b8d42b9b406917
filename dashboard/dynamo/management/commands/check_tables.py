from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dashboard.dynamo import infra
from dashboard.dynamo.commands import database_errors_as_sentences
from dashboard.dynamo.tables import all_models


class Command(BaseCommand):
    help = (
        "Compare the live tables with the models (keys, indexes, TTL; PITR, deletion protection and KMS "
        "encryption when ENVIRONMENT=production). Prints each difference; exit status 1 on drift."
    )

    def handle(self, **options):
        production = settings.ENVIRONMENT == "production"
        problems = []
        with database_errors_as_sentences():
            client = infra._client()
            for model in all_models():
                problems += infra.drift(model, production=production, client=client)
        for problem in problems:
            self.stdout.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} difference(s) between the live tables and the models.")
        checked = "keys, indexes, TTL" + (", PITR, deletion protection, SSE" if production else "")
        self.stdout.write(self.style.SUCCESS(f"{len(all_models())} tables match the models ({checked})."))
