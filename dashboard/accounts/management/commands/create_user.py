import getpass

from django.core.management.base import BaseCommand, CommandError

from dashboard.accounts import queries, services
from dashboard.accounts.models import ROLES
from dashboard.core.errors import DashboardError


class Command(BaseCommand):
    help = "Create a dashboard user (prompts for the password unless --password is given)."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--role", required=True, choices=ROLES)
        parser.add_argument(
            "--tenant", help="tenant id (tenant admins only); created if missing with --create-tenant"
        )
        parser.add_argument("--name", default="")
        parser.add_argument("--password")
        parser.add_argument(
            "--create-tenant", action="store_true", help="create the tenant when it does not exist"
        )

    def handle(self, email, role, tenant, name, password, create_tenant, **options):
        if password is None:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The passwords differ.")
        try:
            if tenant and create_tenant:
                try:
                    queries.get_tenant(tenant)
                except DashboardError:
                    services.create_tenant(tenant, tenant.replace("-", " ").title())
            user = services.create_user(email, password, role, tenant_id=tenant, name=name)
        except DashboardError as exc:
            details = "; ".join(f"{field}: {message}" for field, message in exc.fields.items())
            raise CommandError(f"{exc.message} {details}".strip()) from None
        self.stdout.write(self.style.SUCCESS(f"Created {user.role} {user.email} ({user.user_id})"))
