from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dashboard.dynamo import infra


class Command(BaseCommand):
    help = (
        "Write infrastructure/terraform/*.tf.json and infrastructure/iam/*.json from the PynamoDB models "
        "(--check: only compare, exit 1 when the committed files differ)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--out", default=str(Path(settings.BASE_DIR) / "infrastructure"))
        parser.add_argument("--check", action="store_true", help="compare with the files in --out")
        parser.add_argument("--account", default=infra.POLICY_ACCOUNT, help="account id in iam/*.json ARNs")
        parser.add_argument("--region", default=infra.POLICY_REGION, help="region in iam/*.json ARNs")
        parser.add_argument("--prefix", default=infra.POLICY_PREFIX, help="table prefix in iam/*.json ARNs")
        parser.add_argument(
            "--kms-key-id", default=infra.POLICY_KMS_KEY_ID, help="`terraform output -raw kms_key_id`"
        )

    def handle(
        self, out: str, check: bool, account: str, region: str, prefix: str, kms_key_id: str, **options
    ):
        root = Path(out)
        try:
            files = infra.render(account=account, region=region, prefix=prefix, kms_key_id=kms_key_id)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if check:
            problems = infra.differences(root, files)
            if problems:
                for problem in problems:
                    self.stderr.write(f"{root.name}/{problem}")
                raise CommandError(
                    "The infrastructure files are out of date: run `make infra` and commit them."
                )
            self.stdout.write(f"{len(files)} generated files match the models.")
            return
        infra.write(root, files)
        self.stdout.write(f"Wrote {len(files)} files under {root}.")
