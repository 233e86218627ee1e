"""``manage.py verify_evidence_pack FILE``: check an evidence pack.

1. ``manifest.sig`` must be a valid Ed25519 signature over ``manifest.json`` by a trusted key:
   the keys given with ``--public-key`` (PEM or the JWK set served at
   ``/.well-known/mlgov-signing-keys.json``), or this installation's current and retired keys.
   A missing signature, an unknown key id or a signature that does not match is refused.
2. Every file the manifest lists must be in the pack with the listed SHA-256 and size, and no
   other file may be.
3. Unless ``--offline``: the manifest's audit chain head must be an event of this
   installation's audit log, and the pack's SHA-256 must be the one recorded for the report
   the manifest names.

``--offline`` reads no database, so an auditor verifies a pack with only the public keys.
Prints each problem on its own line and exits 1 on any; prints one line and exits 0 when the
pack verifies.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from apps.core.signing import SigningKeyError
from apps.reports.choices import ReportKind
from apps.reports.evidence import MANIFEST, verify_pack
from apps.reports.verification import audit_head_problem, stored_report_problems, trusted_keys


class Command(BaseCommand):
    help = (
        "Verify an evidence pack: the signature of its manifest, every file against the "
        "manifest's SHA-256, and (unless --offline) the audit log and the stored report."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--offline",
            action="store_true",
            help="Read no database: do not compare the chain head with the audit log nor the "
            "pack with its stored report record.",
        )
        parser.add_argument(
            "--public-key",
            action="append",
            type=Path,
            metavar="FILE",
            help="Trust only the public keys in FILE (PEM, or the JSON key set served at "
            "/.well-known/mlgov-signing-keys.json); repeatable. Default: this installation's "
            "current and retired keys.",
        )

    def handle(self, *args, **options):
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            keyset, trusted = trusted_keys(options["public_key"])
        except SigningKeyError as exc:
            raise CommandError(str(exc)) from exc
        data = path.read_bytes()
        result = verify_pack(data, keyset=keyset)
        problems = result.problems()
        manifest = result.manifest or {}
        head = manifest.get("audit_chain_head")
        offline = options["offline"]
        if not offline and result.manifest is not None:
            problems += self._against_this_installation(data, manifest, head, result)
        for line in problems:
            self.stderr.write(line)
        if problems:
            raise CommandError(
                f"Evidence pack {path.name} does NOT verify: {len(problems)} problem(s); "
                f"{len(result.checked)} file(s) checked."
            )
        where = (
            "offline: not compared with the audit log or the report record"
            if offline
            else f"the pack is report {manifest['report_id']} as recorded"
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Evidence pack {path.name} verifies: {len(result.checked)} files match the "
                f"manifest; manifest signed by key {result.key_id} ({trusted}); audit chain "
                f"head #{head['sequence']} {head['hash']}; {where}."
            )
        )

    def _against_this_installation(self, data: bytes, manifest: dict, head, result) -> list[str]:
        """The chain head and the stored report record; a database that cannot be read is a
        problem (the check was asked for), with the way to skip it."""
        problems = []
        try:
            if not result.manifest_errors and isinstance(head, dict):
                problem = audit_head_problem(head)
                if problem:
                    problems.append(f"{MANIFEST}: {problem}")
            problems += [
                f"{MANIFEST}: {problem}"
                for problem in stored_report_problems(
                    report_id=manifest.get("report_id"),
                    sha256=hashlib.sha256(data).hexdigest(),
                    kind=ReportKind.EVIDENCE_PACK,
                )
            ]
        except DatabaseError as exc:
            problems.append(
                f"the audit log and report records could not be read ({exc}); use --offline "
                "to verify the pack alone"
            )
        return problems
