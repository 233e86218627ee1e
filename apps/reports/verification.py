"""What the verification commands check beyond the file itself: which public keys to trust,
and — when not offline — whether a pack or a report file is the one this installation
recorded (the audit chain head in its log, the SHA-256 and signature in its report record).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from apps.audit.chain import GENESIS_HASH
from apps.audit.models import AuditEvent
from apps.core.signing import KeySet, SigningKeyError, installation_keyset, load_public_keys_file


def trusted_keys(paths: Sequence[Path] | None) -> tuple[KeySet, str]:
    """The keys to verify with and a phrase naming them: the given public-key files (PEM or
    the served JWK set) — then nothing else is trusted — or this installation's key set.
    Raises SigningKeyError naming a file that cannot be read."""
    if paths:
        keys = [key for path in paths for key in load_public_keys_file(path)]
        if not keys:
            raise SigningKeyError("no public key in " + ", ".join(str(p) for p in paths))
        return KeySet.of(retired=keys), "the given public key(s)"
    return installation_keyset(), "this installation's signing keys"


def audit_head_problem(head: dict) -> str | None:
    """Why the manifest's chain head is not in this audit log, or None when it is."""
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


def stored_report_problems(
    *, report_id, sha256: str, kind: str | None = None, manifest: bytes | None = None
) -> list[str]:
    """How a file (with SHA-256 ``sha256``) differs from report ``report_id`` as this
    installation recorded it; empty when it is that report's file. ``manifest``, when given,
    must be the report's signed manifest byte for byte."""
    from apps.reports.choices import ReportStatus
    from apps.reports.models import Report

    if not isinstance(report_id, int) or isinstance(report_id, bool):
        return [
            "the manifest names no report of this installation, so the file cannot be compared "
            "with a stored record (verify with --offline to check the file alone)"
        ]
    report = Report.objects.filter(pk=report_id).first()
    if report is None:
        return [f"report {report_id} is not in this installation"]
    if report.status != ReportStatus.DONE:
        return [f"report {report_id} is {report.status}, not done; it has no file"]
    problems = []
    if kind is not None and report.kind != kind:
        problems.append(f"report {report_id} is a {report.get_kind_display().lower()}, not {kind}")
    if report.sha256 != sha256:
        problems.append(
            f"the file's SHA-256 {sha256} differs from report {report_id}'s recorded "
            f"{report.sha256}"
        )
    if manifest is not None and report.manifest.encode("ascii") != manifest:
        problems.append(f"the manifest differs from report {report_id}'s signed manifest")
    return problems
