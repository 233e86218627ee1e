"""Load the demo data (``apps.demo``): one user per role, a dozen models across tiers, statuses
and units, with their dated history. Idempotent; one transaction."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.core.errors import ApplicationError
from apps.demo.services import demo_seed


class Command(BaseCommand):
    help = (
        "Load the demo data: one user per role and about a dozen models with versions, "
        "datasets, deployments, lineage and risk assessments. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--send-mail",
            action="store_true",
            help="Send the notification e-mails the demo approvals trigger (off by default).",
        )

    def handle(self, *args, **options):
        if not options["send_mail"]:
            # Seeding signs dozens of approvals; their notification mails would flood the
            # console of `make run`. In-app notifications are still created.
            settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
        try:
            result = demo_seed()
        except ApplicationError as exc:
            # Typically: the demo accounts exist with another password than this run's.
            raise CommandError(
                f"{exc.message} Run with the MLGOV_DEMO_PASSWORD the demo accounts were "
                "created with."
            ) from exc
        if options["verbosity"] < 1:
            return  # `make run` prints the figures once, read from the database (demo_logins)
        created = ", ".join(f"{n} {kind}" for kind, n in result.created.items()) or "nothing"
        skipped = ", ".join(f"{n} {kind}" for kind, n in result.skipped.items()) or "nothing"
        self.stdout.write(self.style.SUCCESS(f"Demo data created: {created}."))
        self.stdout.write(f"Already present, left unchanged: {skipped}.")
