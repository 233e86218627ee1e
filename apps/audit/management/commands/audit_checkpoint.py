"""Sign the audit chain head into the checkpoint file now (beat does it on a schedule and every
report does it too); e.g. right before a backup, so the dump ends at a signed checkpoint."""

from django.core.management.base import BaseCommand, CommandError

from apps.audit.checkpoints import CheckpointError
from apps.audit.selectors import checkpoint_path
from apps.audit.services import audit_checkpoint_write


class Command(BaseCommand):
    help = "Sign the audit chain head and append it to the checkpoint file."

    def add_arguments(self, parser):
        parser.add_argument(
            "--reason", default="manual", help="Why it was taken, kept in the checkpoint."
        )

    def handle(self, *args, **options):
        try:
            checkpoint = audit_checkpoint_write(reason=options["reason"])
        except CheckpointError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(f"Audit checkpoint written to {checkpoint_path()}: ")
            + checkpoint.describe()
        )
