"""Verify the audit hash chain and compare it with the signed checkpoints.

By default the run is incremental: it starts from the last checkpoint an earlier verification
proved (anchored by a signed checkpoint outside the database) and recomputes only the events
after it; ``--full`` recomputes every event from the first. Either way the run is recorded (the
audit log's verification page lists it) and the command prints how many events it verified,
the range and the time it took.

Exit 0 when the chain is intact (a warning on stderr when no signed checkpoint could be
compared), exit 1 when it is broken, naming the event or the checkpoint it contradicts.
``--require-checkpoint`` makes a missing checkpoint an error too (exit 2). ``--backup`` (the
restore drill) verifies a restored database in full and records nothing in it.
"""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.audit.models import ChainVerification
from apps.audit.selectors import audit_chain_verify_with_checkpoints, checkpoint_path
from apps.audit.services import verification_run


class Command(BaseCommand):
    help = "Verify the tamper-evident audit chain against its signed checkpoints."

    def add_arguments(self, parser):
        parser.add_argument(
            "--full",
            action="store_true",
            help="Recompute every event from the first, trusting no earlier verification "
            "(catches an old event edited in place; the default starts from the last verified "
            "checkpoint).",
        )
        parser.add_argument(
            "--checkpoints",
            type=Path,
            help="The checkpoint file (default: MLGOV_AUDIT_CHECKPOINT_PATH).",
        )
        parser.add_argument(
            "--backup",
            action="store_true",
            help="The database is a restored backup (the restore drill): checkpoints written "
            "after it was taken are reported as the events it lacks, not as a cut tail. "
            "Always a full verification, recorded nowhere.",
        )
        parser.add_argument(
            "--require-checkpoint",
            action="store_true",
            help="Fail (exit 2) when the chain cannot be compared with a signed checkpoint.",
        )

    def handle(self, *args, **options):
        path = options["checkpoints"] or checkpoint_path()
        started = time.monotonic()
        if options["backup"]:
            result = audit_chain_verify_with_checkpoints(path=path, restored=True)
            span = f"sequence 1–{result.chain.count}, full"
        else:
            run, result = verification_run(
                trigger=ChainVerification.Trigger.COMMAND, full=options["full"], path=path
            )
            kind = "full" if run.full else f"incremental: events up to {run.base_sequence} "
            if not run.full:
                kind += f"proven earlier by {run.base_note}" if run.base_sequence else "none proven"
            span = f"sequence {run.first_sequence}–{run.target_sequence}, {kind}; run #{run.pk}"
        seconds = time.monotonic() - started
        chain, finding = result.chain, result.checkpoint
        self.stdout.write(f"Verified {chain.count} events ({span}) in {seconds:.3f} s")
        if not chain.ok:
            raise CommandError(
                f"Audit chain BROKEN at event sequence {chain.broken_sequence}"
                f" (id {chain.broken_id}): {chain.reason}. "
                f"{chain.count} events checked."
            )
        for warning in finding.warnings:
            self.stderr.write(self.style.WARNING(f"Warning: checkpoint file {warning}"))
        if not result.ok:
            reason = (result.override or {}).get("reason") or finding.reason
            raise CommandError(
                f"Audit chain BROKEN: {reason}. {chain.count} events checked, "
                f"head {chain.head_hash}; checkpoints read from {path}."
            )
        total = chain.count if options["backup"] or run.full else run.target_sequence
        self.stdout.write(
            self.style.SUCCESS(f"Audit chain OK: {total} events, head {chain.head_hash}")
        )
        if finding.ok:
            self.stdout.write(self.style.SUCCESS(f"Checkpoint VERIFIED: {finding.reason}."))
            return
        message = f"Checkpoint NOT VERIFIED: {finding.reason}."
        if options["require_checkpoint"]:
            raise CommandError(message, returncode=2)
        self.stderr.write(self.style.WARNING(message))
