"""Evidence packs: one ZIP with the reports an auditor files, and a manifest that proves them.

``build_pack`` writes, for one model: the card (PDF, mlgov JSON, Model Card Toolkit JSON,
Markdown), the lineage report (PDF, JSON) and the model's audit extract (CSV, PDF); for the
whole inventory: the register (CSV, XLSX, PDF), the inventory lineage (PDF, JSON), the audit
extract (CSV, PDF) and each visible model's card (PDF, JSON) under ``models/<slug>/``.
``manifest.json`` lists every file with its SHA-256, size and content type, and records the
audit chain head, the as-of, who generated the pack, when, and with which generator.
``manifest.sig`` is a detached Ed25519 signature over the exact bytes of ``manifest.json``
with the signing key's id (``apps.core.signing``): rewriting a file *and* its manifest line
no longer goes unnoticed, since the signature then fails.

The archive is deterministic given its files and key: entries sorted by name, one fixed
timestamp, fixed permissions. ``verify_pack`` (no database) checks the signature with the
public keys it is given, then recomputes every hash and names each file that is missing,
extra, changed or unreadable.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from apps.core.signing import KeySet, Signature, SignatureError, Signer, installation_signer
from apps.inventory import selectors as inventory_selectors
from apps.reports.choices import ReportFormat, ReportKind

MANIFEST = "manifest.json"
#: The detached signature over the bytes of ``MANIFEST``.
SIGNATURE = "manifest.sig"
MANIFEST_SCHEMA = "mlgov.evidence-pack/1"
#: Every entry carries this timestamp, so the same files give the same archive.
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")

F = ReportFormat
K = ReportKind

#: (file name in the pack, kind, format) for a one-model pack.
MODEL_FILES: tuple[tuple[str, str, str], ...] = (
    ("model-card.pdf", K.MODEL_CARD, F.PDF),
    ("model-card.json", K.MODEL_CARD, F.JSON),
    ("model-card.mct.json", K.MODEL_CARD, F.MCT_JSON),
    ("model-card.md", K.MODEL_CARD, F.MARKDOWN),
    ("lineage.pdf", K.LINEAGE, F.PDF),
    ("lineage.json", K.LINEAGE, F.JSON),
    ("audit-extract.csv", K.AUDIT_EXTRACT, F.CSV),
    ("audit-extract.pdf", K.AUDIT_EXTRACT, F.PDF),
)
#: The same for a whole-inventory pack; each visible model adds ``PER_MODEL_FILES``.
INVENTORY_FILES: tuple[tuple[str, str, str], ...] = (
    ("register.csv", K.REGISTER, F.CSV),
    ("register.xlsx", K.REGISTER, F.XLSX),
    ("register.pdf", K.REGISTER, F.PDF),
    ("lineage.pdf", K.LINEAGE, F.PDF),
    ("lineage.json", K.LINEAGE, F.JSON),
    ("audit-extract.csv", K.AUDIT_EXTRACT, F.CSV),
    ("audit-extract.pdf", K.AUDIT_EXTRACT, F.PDF),
)
PER_MODEL_FILES: tuple[tuple[str, str], ...] = (
    ("model-card.pdf", F.PDF),
    ("model-card.json", F.JSON),
)


# --- writing -------------------------------------------------------------------------------


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, so the permissions below are read as such
    info.external_attr = 0o644 << 16
    return info


def manifest_document(
    *, files: dict[str, tuple[bytes, str]], meta: dict, model_slug: str | None
) -> dict:
    """The manifest of ``files`` ({name: (bytes, content type)}), sorted by name."""
    return {
        "schema": MANIFEST_SCHEMA,
        "scope": {"model": model_slug} if model_slug else {"model": None, "inventory": True},
        "as_of": meta.get("as_of"),
        "audit_chain_head": meta.get("audit_chain_head"),
        "audit_checkpoint": meta.get("audit_checkpoint"),
        "generated_at": meta.get("generated_at"),
        "generated_by": meta.get("generated_by"),
        "generator": meta.get("generator"),
        "report_id": meta.get("report_id"),
        "files": [
            {
                "name": name,
                "sha256": sha256_hex(data),
                "size": len(data),
                "content_type": content_type,
            }
            for name, (data, content_type) in sorted(files.items())
        ],
    }


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """A ZIP of ``files`` with entries sorted by name and fixed timestamps."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            archive.writestr(_entry(name), files[name])
    return buffer.getvalue()


def pack_bytes(
    *,
    files: dict[str, tuple[bytes, str]],
    meta: dict,
    model_slug: str | None,
    signer: Signer,
) -> bytes:
    """The archive of ``files`` plus its ``manifest.json`` and ``manifest.sig``."""
    if MANIFEST in files or SIGNATURE in files:
        raise ValueError(f"{MANIFEST} and {SIGNATURE} are written by the pack itself.")
    manifest = manifest_document(files=files, meta=meta, model_slug=model_slug)
    from apps.reports.generators import json_bytes

    members = {name: data for name, (data, _) in files.items()}
    members[MANIFEST] = json_bytes(manifest)
    members[SIGNATURE] = signer.sign(members[MANIFEST]).document_bytes()
    return zip_bytes(members)


def _model_files(*, user, model, as_of, meta) -> dict[str, tuple[bytes, str]]:
    from apps.reports import generators
    from apps.reports.snapshot import model_snapshot

    files: dict[str, tuple[bytes, str]] = {}
    snapshot = model_snapshot(model=model, as_of=as_of)
    card_meta = generators.card_meta(snapshot, meta)
    for name, kind, fmt in MODEL_FILES:
        if kind == K.MODEL_CARD:
            data = generators.model_card_bytes(snapshot=snapshot, meta=card_meta, fmt=fmt)
        else:
            data = generators.generate(
                kind=kind, fmt=fmt, model=model, scope_params={}, as_of=as_of, meta=meta, user=user
            ).data
        files[name] = (data, generators.CONTENT_TYPES[fmt])
    return files


def _inventory_files(*, user, as_of, meta) -> dict[str, tuple[bytes, str]]:
    from apps.reports import generators
    from apps.reports.snapshot import model_snapshot

    files: dict[str, tuple[bytes, str]] = {}
    for name, kind, fmt in INVENTORY_FILES:
        output = generators.generate(
            kind=kind, fmt=fmt, model=None, scope_params={}, as_of=as_of, meta=meta, user=user
        )
        files[name] = (output.data, output.content_type)
    models = inventory_selectors.model_list(user=user).order_by("slug")
    if as_of is not None:
        models = models.filter(created_at__lte=as_of)
    for model in models:
        snapshot = model_snapshot(model=model, as_of=as_of)
        card_meta = generators.card_meta(snapshot, meta)
        for name, fmt in PER_MODEL_FILES:
            data = generators.model_card_bytes(snapshot=snapshot, meta=card_meta, fmt=fmt)
            files[f"models/{model.slug}/{name}"] = (data, generators.CONTENT_TYPES[fmt])
    return files


def build_pack(*, user, model=None, as_of, meta, signer: Signer | None = None) -> bytes:
    """The evidence pack of ``model`` (or of the inventory ``user`` sees) as of ``as_of``
    (None = the live record), signed with ``signer`` (default: the installation's key). The
    caller checks the user may generate it."""
    if model is not None:
        files = _model_files(user=user, model=model, as_of=as_of, meta=meta)
    else:
        files = _inventory_files(user=user, as_of=as_of, meta=meta)
    return pack_bytes(
        files=files,
        meta=meta,
        model_slug=model.slug if model else None,
        signer=signer or installation_signer(),
    )


# --- verifying -----------------------------------------------------------------------------


@dataclass
class PackVerification:
    """What ``verify_pack`` found. ``ok`` only when the manifest's signature verifies with a
    trusted key, every listed file is present with its hash and size, nothing else is in the
    archive, and the manifest is well formed."""

    checked: list[str] = field(default_factory=list)
    signature_errors: list[str] = field(default_factory=list)
    key_id: str | None = None  # the key that signed the manifest, once verified
    mismatched: list[tuple[str, str]] = field(default_factory=list)  # (name, why)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    manifest_errors: list[str] = field(default_factory=list)
    manifest: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not (
            self.signature_errors
            or self.mismatched
            or self.missing
            or self.extra
            or self.manifest_errors
        )

    def problems(self) -> list[str]:
        """One line per problem, each naming its file."""
        lines = [f"{SIGNATURE}: {error}" for error in self.signature_errors]
        lines += [f"{MANIFEST}: {error}" for error in self.manifest_errors]
        lines += [f"{name}: {why}" for name, why in self.mismatched]
        lines += [
            f"{name}: listed in the manifest but missing from the pack" for name in self.missing
        ]
        lines += [f"{name}: in the pack but not listed in the manifest" for name in self.extra]
        return lines


def _open(source: str | Path | bytes | BinaryIO) -> zipfile.ZipFile:
    if isinstance(source, bytes | bytearray):
        return zipfile.ZipFile(io.BytesIO(source))
    return zipfile.ZipFile(source)


def _read_manifest(archive: zipfile.ZipFile, result: PackVerification) -> list[dict] | None:
    try:
        raw = archive.read(MANIFEST)
    except KeyError:
        result.manifest_errors.append("missing from the pack")
        return None
    except (zipfile.BadZipFile, OSError) as exc:
        result.manifest_errors.append(f"unreadable ({exc})")
        return None
    try:
        manifest = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        result.manifest_errors.append(f"not valid JSON ({exc})")
        return None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list):
        result.manifest_errors.append('has no "files" list')
        return None
    result.manifest = manifest
    head = manifest.get("audit_chain_head")
    if not (
        isinstance(head, dict)
        and isinstance(head.get("sequence"), int)
        and SHA256_RE.match(str(head.get("hash", "")))
    ):
        result.manifest_errors.append("audit_chain_head is missing or malformed")
    entries = []
    seen: set[str] = set()
    for position, entry in enumerate(manifest["files"], start=1):
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name:
            result.manifest_errors.append(f"file entry {position} has no name")
            continue
        if name in seen:
            result.manifest_errors.append(f"{name} is listed twice")
            continue
        seen.add(name)
        if not SHA256_RE.match(str(entry.get("sha256", ""))) or not isinstance(
            entry.get("size"), int
        ):
            result.manifest_errors.append(f"{name} has no valid sha256 and size")
            continue
        entries.append(entry)
    return entries


def _check_signature(archive: zipfile.ZipFile, keyset: KeySet, result: PackVerification) -> None:
    """The manifest's bytes against ``manifest.sig`` and the trusted keys."""
    try:
        manifest = archive.read(MANIFEST)
    except (KeyError, zipfile.BadZipFile, OSError, EOFError, zlib.error):
        return  # reported by _read_manifest
    try:
        raw = archive.read(SIGNATURE)
    except KeyError:
        result.signature_errors.append("missing from the pack; an unsigned pack is refused")
        return
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
        result.signature_errors.append(f"unreadable ({exc})")
        return
    try:
        signature = Signature.from_document(raw)
        keyset.verify(manifest, signature)
    except SignatureError as exc:
        result.signature_errors.append(str(exc))
        return
    result.key_id = signature.key_id


def verify_pack(source: str | Path | bytes | BinaryIO, *, keyset: KeySet) -> PackVerification:
    """Check an evidence pack: the manifest's signature with one of the ``keyset``'s public
    keys, then every listed file present with the listed SHA-256 and size, no unlisted file,
    a well-formed manifest. Reads no database."""
    result = PackVerification()
    try:
        archive = _open(source)
    except (zipfile.BadZipFile, OSError) as exc:
        result.manifest_errors.append(f"the pack is not a readable ZIP archive ({exc})")
        return result
    with archive:
        names = [info.filename for info in archive.infolist()]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        for name in duplicates:
            result.manifest_errors.append(f"the archive holds {name} more than once")
        _check_signature(archive, keyset, result)
        entries = _read_manifest(archive, result)
        if entries is None:
            return result
        listed = {entry["name"] for entry in entries}
        for entry in entries:
            name = entry["name"]
            if name not in names:
                result.missing.append(name)
                continue
            result.checked.append(name)
            try:
                data = archive.read(name)
            except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
                result.mismatched.append((name, f"unreadable ({exc})"))
                continue
            digest = sha256_hex(data)
            if digest != entry["sha256"]:
                result.mismatched.append(
                    (name, f"SHA-256 {digest} does not match the manifest's {entry['sha256']}")
                )
            elif len(data) != entry["size"]:
                result.mismatched.append(
                    (name, f"size {len(data)} does not match the manifest's {entry['size']}")
                )
        result.extra = sorted(set(names) - listed - {MANIFEST, SIGNATURE})
    return result
