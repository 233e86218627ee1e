"""The signed manifest of a single report file, and its verification (no database).

A finished report keeps, next to its file, a manifest stating what the file is — report id,
kind, format, model, scope, as-of, generator version, who asked, when the file was made, its
name, type, size and SHA-256, the snapshot hash, the audit chain head and the signed audit
checkpoint written for it — and a detached
Ed25519 signature over the manifest's exact bytes (``apps.core.signing``). An auditor holding
the file, the manifest, the signature and the installation's public keys checks all of it
offline: ``manage.py verify_report``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from apps.core.signing import KeySet, Signature, SignatureError

REPORT_MANIFEST_SCHEMA = "mlgov.report-manifest/1"


def manifest_bytes(document: dict[str, Any]) -> bytes:
    """Indented, key-sorted, ASCII JSON with a final newline: readable, and the same bytes
    wherever it is stored (database text column, download, file)."""
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=True) + "\n").encode()


def report_manifest(
    *,
    report_id: int,
    kind: str,
    fmt: str,
    model_slug: str | None,
    scope: dict,
    as_of: str | None,
    requested_as_of: str | None,
    generator: str,
    requested_by: str,
    requested_at: str,
    created_at: str,
    filename: str,
    content_type: str,
    data: bytes,
    snapshot_sha256: str,
    audit_chain_head: dict | None,
    audit_checkpoint: dict | None = None,
) -> dict[str, Any]:
    """The manifest document of one generated report file (times as ISO 8601 UTC strings);
    ``audit_checkpoint`` is the signed checkpoint written for it (``apps.audit.checkpoints``)."""
    document = {
        "schema": REPORT_MANIFEST_SCHEMA,
        "report_id": report_id,
        "kind": kind,
        "format": fmt,
        "model": model_slug,
        "scope": scope or {},
        "as_of": as_of,
        "requested_as_of": requested_as_of,
        "generator": generator,
        "requested_by": requested_by,
        "requested_at": requested_at,
        "created_at": created_at,
        "file": {
            "name": filename,
            "content_type": content_type,
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        },
        "snapshot_sha256": snapshot_sha256 or None,
        "audit_chain_head": audit_chain_head,
    }
    if audit_checkpoint is not None:
        document["audit_checkpoint"] = audit_checkpoint
    return document


@dataclass
class ReportVerification:
    """What ``verify_report_file`` found; ``ok`` only without any problem."""

    problems: list[str] = field(default_factory=list)
    manifest: dict[str, Any] | None = None
    key_id: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_report_file(
    *, data: bytes, manifest: bytes, signature: bytes | Signature, keyset: KeySet
) -> ReportVerification:
    """Check the manifest's signature with ``keyset``, then the file against the manifest."""
    result = ReportVerification()
    try:
        parsed = (
            signature if isinstance(signature, Signature) else Signature.from_document(signature)
        )
        result.key_id = parsed.key_id
        keyset.verify(manifest, parsed)
    except SignatureError as exc:
        result.problems.append(f"signature: {exc}")
        return result  # an unsigned manifest proves nothing: its content is not read
    try:
        document = json.loads(manifest)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        result.problems.append(f"manifest: not valid JSON ({exc})")
        return result
    entry = document.get("file") if isinstance(document, dict) else None
    if document.get("schema") != REPORT_MANIFEST_SCHEMA or not isinstance(entry, dict):
        result.problems.append(f"manifest: not an {REPORT_MANIFEST_SCHEMA} manifest")
        return result
    result.manifest = document
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry.get("sha256"):
        result.problems.append(
            f"{entry.get('name')}: SHA-256 {digest} does not match the manifest's "
            f"{entry.get('sha256')}"
        )
    elif len(data) != entry.get("size"):
        result.problems.append(
            f"{entry.get('name')}: size {len(data)} does not match the manifest's "
            f"{entry.get('size')}"
        )
    return result
