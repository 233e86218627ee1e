"""Restore a pg_dump into a scratch database, verify its audit chain and the signed checkpoints
against it, report, and drop the scratch database (README, "Backup and restore").

Exit 0 when the restored chain is intact and a signed checkpoint vouches for it, 1 when the
restore fails or the chain is broken, 2 when no checkpoint could vouch for it.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.audit.drill import DrillError, restore_drill
from apps.audit.selectors import checkpoint_path


class Command(BaseCommand):
    help = "Restore a pg_dump into a scratch database and verify its audit trail there."

    def add_arguments(self, parser):
        parser.add_argument("--dump", type=Path, required=True, help="The pg_dump file.")
        parser.add_argument(
            "--checkpoints",
            type=Path,
            help="The checkpoint file (default: MLGOV_AUDIT_CHECKPOINT_PATH).",
        )
        parser.add_argument(
            "--keep", action="store_true", help="Keep the scratch database for inspection."
        )
        parser.add_argument(
            "--timeout", type=float, default=3600.0, help="Seconds each step may take."
        )

    def handle(self, *args, **options):
        try:
            report = restore_drill(
                dump=options["dump"],
                checkpoint_path=options["checkpoints"] or checkpoint_path(),
                keep=options["keep"],
                timeout=options["timeout"],
            )
        except DrillError as exc:
            raise CommandError(f"Restore drill FAILED: {exc}") from exc
        self.stdout.write(
            f"Restored {report.dump} into the scratch database {report.database} "
            f"in {report.restore_seconds:.1f} s; verification there:"
        )
        if report.verify_output:
            self.stdout.write(report.verify_output)
        if report.verify_errors:
            self.stderr.write(report.verify_errors)
        for note in report.notes:
            self.stderr.write(self.style.WARNING(note))
        if report.dropped:
            self.stdout.write(f"The scratch database {report.database} was dropped.")
        if report.ok:
            self.stdout.write(self.style.SUCCESS("Restore drill PASSED."))
            return
        verdict = "NOT VERIFIED" if report.verify_status == 2 else "FAILED"
        raise CommandError(
            f"Restore drill {verdict}: see the verification above.",
            returncode=report.verify_status if report.verify_status in (1, 2) else 1,
        )
