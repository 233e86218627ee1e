"""``manage.py verify_report FILE --manifest MANIFEST --signature SIG``: check one report file
against its signed manifest (both downloaded from the report's page or the API).

The signature must be a valid Ed25519 signature over the manifest's bytes by a trusted key
(``--public-key`` files, or this installation's current and retired keys); the file must have
the manifest's SHA-256 and size. Unless ``--offline``, the file and the manifest must also be
the ones recorded for the report the manifest names. Exits 1 on any problem.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from apps.core.signing import SigningKeyError
from apps.reports.manifests import verify_report_file
from apps.reports.verification import stored_report_problems, trusted_keys


class Command(BaseCommand):
    help = "Verify a report file against its signed manifest and the signing keys."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--manifest", type=Path, required=True, metavar="MANIFEST")
        parser.add_argument("--signature", type=Path, required=True, metavar="SIG")
        parser.add_argument(
            "--offline",
            action="store_true",
            help="Read no database: do not compare with the stored report record.",
        )
        parser.add_argument(
            "--public-key",
            action="append",
            type=Path,
            metavar="FILE",
            help="Trust only the public keys in FILE (PEM or the served JSON key set); "
            "repeatable. Default: this installation's current and retired keys.",
        )

    def handle(self, *args, **options):
        paths = {name: options[name] for name in ("file", "manifest", "signature")}
        for path in paths.values():
            if not path.is_file():
                raise CommandError(f"No such file: {path}")
        try:
            keyset, trusted = trusted_keys(options["public_key"])
        except SigningKeyError as exc:
            raise CommandError(str(exc)) from exc
        data, manifest = paths["file"].read_bytes(), paths["manifest"].read_bytes()
        result = verify_report_file(
            data=data, manifest=manifest, signature=paths["signature"].read_bytes(), keyset=keyset
        )
        problems = list(result.problems)
        if result.ok and not options["offline"]:
            try:
                problems += stored_report_problems(
                    report_id=result.manifest.get("report_id"),
                    sha256=hashlib.sha256(data).hexdigest(),
                    manifest=manifest,
                )
            except DatabaseError as exc:
                problems.append(
                    f"the report records could not be read ({exc}); use --offline to verify "
                    "the file alone"
                )
        for line in problems:
            self.stderr.write(line)
        name = paths["file"].name
        if problems:
            raise CommandError(f"Report file {name} does NOT verify: {len(problems)} problem(s).")
        document = result.manifest
        where = "offline" if options["offline"] else "matches the stored record"
        self.stdout.write(
            self.style.SUCCESS(
                f"Report file {name} verifies: report {document['report_id']} "
                f"({document['kind']}, {document['format']}), SHA-256 "
                f"{document['file']['sha256']}; manifest signed by key {result.key_id} "
                f"({trusted}); {where}."
            )
        )
