"""Give the application's database role exactly its rights; run as the tables' owner after
every ``migrate`` (README, "Database roles")."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.audit.dbroles import RoleError
from apps.audit.services import audit_grant_app_role


class Command(BaseCommand):
    help = (
        "Grant the application role (MLGOV_DB_APP_ROLE) its rights: normal rights on every "
        "table, but only SELECT and INSERT on the audit trail. Run as the owner role."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--role", default=None, help="The application role (default: MLGOV_DB_APP_ROLE)."
        )
        parser.add_argument("--database", default="default")

    def handle(self, *args, **options):
        role = options["role"] or settings.MLGOV_DB_APP_ROLE
        if not role:
            raise CommandError("Name the application role: --role or MLGOV_DB_APP_ROLE.")
        try:
            statements = audit_grant_app_role(role=role, using=options["database"])
        except RoleError as exc:
            raise CommandError(f"Cannot grant {role} the application's rights: {exc}") from exc
        for statement in statements:
            self.stdout.write(f"{statement};", style_func=None)
        self.stdout.write(
            self.style.SUCCESS(
                f"{role} may now use every table, but only read and append the audit trail."
            )
        )
