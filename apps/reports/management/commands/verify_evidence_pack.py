"""``manage.py verify_evidence_pack FILE``: check an evidence pack against its manifest.

Every file the manifest lists must be in the pack with the listed SHA-256 and size, and no
other file may be; the manifest's audit chain head must be an event of this installation's
audit log (skip that with ``--offline``). Prints each problem by file name and exits non-zero
on any.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from apps.audit.chain import GENESIS_HASH
from apps.reports.evidence import MANIFEST, verify_pack


def audit_head_problem(head: dict) -> str | None:
    """Why the manifest's chain head is not in this audit log, or None when it is."""
    from apps.audit.models import AuditEvent

    sequence, digest = head["sequence"], head["hash"]
    if sequence == 0:
        return None if digest == GENESIS_HASH else "audit chain head #0 is not the genesis hash"
    stored = AuditEvent.objects.filter(sequence=sequence).values_list("hash", flat=True).first()
    if stored is None:
        return f"audit chain head #{sequence} is not in this installation's audit log"
    if stored != digest:
        return (
            f"audit chain head #{sequence} has hash {digest}, but the audit log's event "
            f"#{sequence} has {stored}"
        )
    return None


class Command(BaseCommand):
    help = "Verify an evidence pack: every file against the SHA-256 in its manifest.json."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--offline",
            action="store_true",
            help="Do not check the manifest's audit chain head against the audit log.",
        )

    def handle(self, *args, **options):
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        result = verify_pack(path)
        problems = result.problems()
        head = (result.manifest or {}).get("audit_chain_head")
        if not options["offline"] and not result.manifest_errors and isinstance(head, dict):
            try:
                problem = audit_head_problem(head)
            except DatabaseError as exc:
                self.stderr.write(f"The audit chain head was not checked (no database: {exc}).")
            else:
                if problem:
                    problems.append(f"{MANIFEST}: {problem}")
        for line in problems:
            self.stderr.write(line)
        if problems:
            raise CommandError(
                f"Evidence pack {path.name} does NOT verify: {len(problems)} problem(s); "
                f"{len(result.checked)} file(s) checked."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Evidence pack {path.name} verifies: {len(result.checked)} files match the "
                f"manifest; audit chain head #{head['sequence']} {head['hash']}."
            )
        )
