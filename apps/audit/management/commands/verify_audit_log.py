"""Verify the audit hash chain and compare it with the latest signed checkpoint.

Exit 0 when the chain is intact (a warning on stderr when no signed checkpoint could be
compared), exit 1 when it is broken, naming the event or the checkpoint it contradicts.
``--require-checkpoint`` makes a missing checkpoint an error too (exit 2).
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.audit.selectors import audit_chain_verify_with_checkpoints, checkpoint_path


class Command(BaseCommand):
    help = "Verify the tamper-evident audit chain against its signed checkpoints."

    def add_arguments(self, parser):
        parser.add_argument(
            "--checkpoints",
            type=Path,
            help="The checkpoint file (default: MLGOV_AUDIT_CHECKPOINT_PATH).",
        )
        parser.add_argument(
            "--backup",
            action="store_true",
            help="The database is a restored backup (the restore drill): checkpoints written "
            "after it was taken are reported as the events it lacks, not as a cut tail.",
        )
        parser.add_argument(
            "--require-checkpoint",
            action="store_true",
            help="Fail (exit 2) when the chain cannot be compared with a signed checkpoint.",
        )

    def handle(self, *args, **options):
        path = options["checkpoints"] or checkpoint_path()
        result = audit_chain_verify_with_checkpoints(path=path, restored=options["backup"])
        chain, finding = result.chain, result.checkpoint
        if not chain.ok:
            raise CommandError(
                f"Audit chain BROKEN at event sequence {chain.broken_sequence}"
                f" (id {chain.broken_id}): {chain.reason}. "
                f"{chain.count} events checked."
            )
        for warning in finding.warnings:
            self.stderr.write(self.style.WARNING(f"Warning: checkpoint file {warning}"))
        if not result.ok:
            raise CommandError(
                f"Audit chain BROKEN: {finding.reason}. {chain.count} events checked, "
                f"head {chain.head_hash}; checkpoints read from {path}."
            )
        self.stdout.write(
            self.style.SUCCESS(f"Audit chain OK: {chain.count} events, head {chain.head_hash}")
        )
        if finding.ok:
            self.stdout.write(self.style.SUCCESS(f"Checkpoint VERIFIED: {finding.reason}."))
            return
        message = f"Checkpoint NOT VERIFIED: {finding.reason}."
        if options["require_checkpoint"]:
            raise CommandError(message, returncode=2)
        self.stderr.write(self.style.WARNING(message))
