from django.core.management.base import BaseCommand

from dashboard.dynamo.commands import database_errors_as_sentences
from dashboard.dynamo.tables import all_models, describe


class Command(BaseCommand):
    help = "Show each table's keys, indexes, TTL and item count."

    def handle(self, **options):
        with database_errors_as_sentences():
            self._describe()

    def _describe(self):
        for model in all_models():
            if not model.exists():
                self.stdout.write(f"{model.Meta.table_name}: missing (run create_tables)")
                continue
            info = describe(model)
            self.stdout.write(self.style.MIGRATE_HEADING(info.name))
            self.stdout.write(f"  key:    {info.keys}")
            self.stdout.write(f"  items:  {info.item_count}")
            self.stdout.write(f"  ttl:    {info.ttl}")
            for index in info.indexes:
                self.stdout.write(f"  index:  {index}")
