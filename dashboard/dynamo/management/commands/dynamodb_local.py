from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dashboard.dynamo import local


class Command(BaseCommand):
    help = "Start, stop or show DynamoDB Local for development (data kept on disk)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["start", "stop", "status", "fetch"])

    def handle(self, action: str, **options):
        endpoint = settings.DYNAMODB_ENDPOINT_URL
        port = local.local_port(endpoint)
        if action == "fetch":
            self._guard(local.ensure_engine)
            self.stdout.write(f"DynamoDB Local is in {local.engine_dir()}")
            return
        if port is None:
            where = endpoint or f"AWS ({settings.DYNAMODB_REGION})"
            self.stdout.write(f"DYNAMODB_ENDPOINT_URL points at {where}: nothing local to {action}.")
            return
        if action == "status":
            state = "up" if local.is_up(port) else "down"
            self.stdout.write(f"DynamoDB Local on port {port}: {state}")
        elif action == "stop":
            stopped = local.stop_detached(port)
            self.stdout.write("DynamoDB Local stopped." if stopped else "DynamoDB Local was not running.")
        else:
            self._start(port)

    def _start(self, port: int) -> None:
        if local.is_up(port):
            self.stdout.write(f"DynamoDB Local already answers on port {port}.")
            return
        data_dir = Path(settings.DYNAMODB_LOCAL_DATA)
        log_path = data_dir.parent / "dynamodb-local.log"
        data_dir.mkdir(parents=True, exist_ok=True)
        process = self._guard(lambda: local.start(port, data_dir=data_dir, log_path=log_path, detach=True))
        local.pid_file(port).write_text(str(process.pid))
        self.stdout.write(self.style.SUCCESS(f"DynamoDB Local is up on port {port}, data in {data_dir}"))

    def _guard(self, action):
        try:
            return action()
        except local.DynamoDBLocalError as exc:
            raise CommandError(str(exc)) from None
