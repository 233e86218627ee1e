"""Signed checkpoints of the audit chain head, kept outside the database. No ORM here.

A checkpoint states "on ``checkpointed_at`` the chain's last event was ``sequence`` with
``hash``", signed with the installation's Ed25519 key (``apps.core.signing``). Checkpoints are
appended, one JSON object per line, to a file the operator names (``MLGOV_AUDIT_CHECKPOINT_PATH``)
and never rewritten. Because each event's hash covers every event before it, a chain that still
holds the checkpoint's sequence with the same hash cannot have been changed up to that point;
whoever controls the database (owner, superuser) cannot recompute a matching chain after
removing, resetting or re-hashing events, since they cannot sign a new checkpoint.

A line::

    {"schema": "mlgov.audit-checkpoint/1", "sequence": 42, "hash": "…", "event_at": "…Z",
     "checkpointed_at": "…Z", "reason": "schedule", "algorithm": "Ed25519",
     "key_id": "…", "signature": "<base64>"}

The signature covers the canonical JSON (sorted keys, no whitespace, UTF-8) of the fields
``SIGNED_FIELDS``, so anyone holding the public keys re-checks a line offline.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apps.audit.chain import canonical_json
from apps.core.signing import KeySet, Signature, SignatureError, Signer

SCHEMA = "mlgov.audit-checkpoint/1"
SIGNED_FIELDS = ("schema", "sequence", "hash", "event_at", "checkpointed_at", "reason")


class CheckpointError(Exception):
    """A checkpoint cannot be written; the message says why in one sentence."""


@dataclass(frozen=True)
class Checkpoint:
    """One signed statement of the chain head."""

    sequence: int
    hash: str
    event_at: str | None
    checkpointed_at: str
    reason: str
    key_id: str = ""
    signature: str = ""
    line: int | None = None  # where it was read from, when read from a file

    def payload(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "sequence": self.sequence,
            "hash": self.hash,
            "event_at": self.event_at,
            "checkpointed_at": self.checkpointed_at,
            "reason": self.reason,
        }

    def signed_bytes(self) -> bytes:
        return canonical_json(self.payload()).encode("utf-8")

    def record(self) -> dict[str, Any]:
        """The checkpoint as one line of the file (and as printed in reports)."""
        return {
            **self.payload(),
            "algorithm": "Ed25519",
            "key_id": self.key_id,
            "signature": self.signature,
        }

    def describe(self) -> str:
        return (
            f"sequence {self.sequence}, hash {self.hash}, signed {self.checkpointed_at} "
            f"with key {self.key_id}"
        )


def sign(
    *,
    sequence: int,
    hash: str,
    event_at: str | None,
    checkpointed_at: str,
    reason: str,
    signer: Signer,
) -> Checkpoint:
    unsigned = Checkpoint(
        sequence=sequence,
        hash=hash,
        event_at=event_at,
        checkpointed_at=checkpointed_at,
        reason=reason,
    )
    signature = signer.sign(unsigned.signed_bytes())
    return Checkpoint(
        **{**unsigned.__dict__, "key_id": signature.key_id, "signature": signature.value_b64}
    )


def line_bytes(checkpoint: Checkpoint) -> bytes:
    return (canonical_json(checkpoint.record()) + "\n").encode("utf-8")


# --- reading ---------------------------------------------------------------------------------


@dataclass
class CheckpointFile:
    """What a checkpoint file holds: the checkpoints whose signature verifies, and a note for
    every line that is not one (torn write, foreign line, forged or unknown-key signature)."""

    path: Path
    exists: bool
    valid: list[Checkpoint] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)

    @property
    def latest(self) -> Checkpoint | None:
        """The valid checkpoint with the highest sequence (the last such line on a tie), so an
        older line appended again cannot stand in for a later one."""
        best = None
        for checkpoint in self.valid:
            if best is None or checkpoint.sequence >= best.sequence:
                best = checkpoint
        return best


def _parse(raw: bytes, number: int) -> tuple[Checkpoint, str | None]:
    try:
        record = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not JSON ({exc.__class__.__name__})") from exc
    if not isinstance(record, dict) or record.get("schema") != SCHEMA:
        raise ValueError(f"not an {SCHEMA} record")
    sequence, digest = record.get("sequence"), record.get("hash")
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 0:
        raise ValueError("sequence is not a whole number")
    if not isinstance(digest, str) or len(digest) != 64:
        raise ValueError("hash is not a SHA-256 hex digest")
    checkpoint = Checkpoint(
        sequence=sequence,
        hash=digest,
        event_at=record.get("event_at"),
        checkpointed_at=str(record.get("checkpointed_at", "")),
        reason=str(record.get("reason", "")),
        key_id=str(record.get("key_id", "")),
        signature=str(record.get("signature", "")),
        line=number,
    )
    return checkpoint, record.get("algorithm")


def _verify(checkpoint: Checkpoint, algorithm: str | None, keyset: KeySet) -> None:
    try:
        signature = Signature.from_parts(
            key_id=checkpoint.key_id, value_b64=checkpoint.signature, algorithm=algorithm
        )
        keyset.verify(checkpoint.signed_bytes(), signature)
    except SignatureError as exc:
        raise ValueError(f"signature: {exc}") from exc


def read_lines(
    lines: Iterable[bytes], *, path: Path, keyset: KeySet, latest_only: bool = False
) -> CheckpointFile:
    """Parse every line and check signatures: all of them, or with ``latest_only`` just
    enough to find the valid checkpoint with the highest sequence (what a writer needs)."""
    result = CheckpointFile(path=path, exists=True)
    parsed: list[tuple[Checkpoint, str | None]] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            parsed.append(_parse(raw, number))
        except ValueError as exc:
            result.invalid.append(f"line {number}: {exc}")
    if latest_only:
        parsed.sort(key=lambda item: (item[0].sequence, item[0].line), reverse=True)
    for checkpoint, algorithm in parsed:
        try:
            _verify(checkpoint, algorithm, keyset)
        except ValueError as exc:
            result.invalid.append(f"line {checkpoint.line}: {exc}")
            continue
        result.valid.append(checkpoint)
        if latest_only:
            break
    result.valid.sort(key=lambda c: c.line or 0)
    return result


def read_file(path: Path, *, keyset: KeySet, latest_only: bool = False) -> CheckpointFile:
    """The checkpoints in ``path``; a missing file gives ``exists=False``."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return CheckpointFile(path=path, exists=False)
    with handle:
        return read_lines(handle, path=path, keyset=keyset, latest_only=latest_only)


# --- appending -------------------------------------------------------------------------------


@contextmanager
def locked_for_append(path: Path) -> Iterator[Callable[[Checkpoint], None]]:
    """Hold an exclusive lock on the checkpoint file (``flock``) and yield a function that
    appends one checkpoint, so that reading the last checkpoint, reading the chain head and
    appending happen as one step among processes (web, workers, beat) sharing the file.

    The file is only ever opened to append (``O_APPEND``): nothing in it is rewritten. Each
    line is written whole and fsynced; a line left torn by a crash is closed first, so the
    new one stays whole (the torn one is reported as not a checkpoint).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    created = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        if created:
            _fsync_directory(path.parent)

        def write(checkpoint: Checkpoint) -> None:
            data = line_bytes(checkpoint)
            size = os.fstat(fd).st_size
            if size:
                with path.open("rb") as reader:
                    reader.seek(size - 1)
                    if reader.read(1) != b"\n":
                        data = b"\n" + data
            written = os.write(fd, data)
            if written != len(data):
                raise OSError(f"short write to {path} ({written} of {len(data)} bytes)")
            os.fsync(fd)

        yield write
    finally:
        os.close(fd)  # releases the lock


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- comparing with the chain ----------------------------------------------------------------


@dataclass(frozen=True)
class CheckpointFinding:
    """How the chain stands against the signed checkpoints.

    ``state`` is ``verified`` (the chain holds every checkpoint), ``broken`` (it does not:
    ``reason`` says where) or ``unverifiable`` (no valid checkpoint to compare with)."""

    state: str
    reason: str
    latest: Checkpoint | None = None
    checked: int = 0
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.state == "verified"

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "reason": self.reason,
            "latest": self.latest.record() if self.latest else None,
            "checked": self.checked,
            "warnings": list(self.warnings),
        }


VERIFIED, BROKEN, UNVERIFIABLE = "verified", "broken", "unverifiable"


def compare(
    checkpoints: CheckpointFile,
    *,
    chain_length: int,
    hashes: Mapping[int, str],
    restored: bool = False,
) -> CheckpointFinding:
    """Compare a chain (its length and the hashes of the events at the checkpoints'
    sequences) with every valid checkpoint, latest first.

    ``restored``: the chain comes from a backup, which may rightly end before checkpoints
    written after it was taken; those are noted (the events a restore would lose) instead of
    counting as a cut tail, and every checkpoint the backup does reach must still match."""
    warnings = tuple(f"{checkpoints.path}: {note}" for note in checkpoints.invalid)
    if restored and checkpoints.valid:
        newer = [c for c in checkpoints.valid if c.sequence > chain_length]
        covered = [c for c in checkpoints.valid if c.sequence <= chain_length]
        if newer:
            latest = max(newer, key=lambda c: c.sequence)
            warnings += (
                f"the backup ends at sequence {chain_length}, before the latest checkpoint "
                f"({latest.describe()}): restoring it would lose "
                f"{latest.sequence - chain_length} or more audit events recorded after it",
            )
            if not covered:
                return CheckpointFinding(
                    UNVERIFIABLE,
                    "every checkpoint is newer than the backup, so none can vouch for it",
                    latest=latest,
                    warnings=warnings,
                )
            checkpoints = CheckpointFile(
                path=checkpoints.path, exists=True, valid=covered, invalid=checkpoints.invalid
            )
    latest = checkpoints.latest
    if not checkpoints.exists:
        return CheckpointFinding(
            UNVERIFIABLE,
            f"no checkpoint file at {checkpoints.path}: a cut tail, a reset or a re-hashed "
            "chain cannot be detected",
            warnings=warnings,
        )
    if latest is None:
        return CheckpointFinding(
            UNVERIFIABLE,
            f"{checkpoints.path} holds no checkpoint signed with a trusted key",
            warnings=warnings,
        )
    ordered = sorted(checkpoints.valid, key=lambda c: c.sequence, reverse=True)
    for checkpoint in ordered:
        where = f"the checkpoint of {checkpoint.checkpointed_at} (line {checkpoint.line})"
        if checkpoint.sequence > chain_length:
            return CheckpointFinding(
                BROKEN,
                f"the chain ends at sequence {chain_length} but {where} records sequence "
                f"{checkpoint.sequence} with hash {checkpoint.hash}: events were removed "
                "(cut tail or reset)",
                latest=latest,
                checked=len(ordered),
                warnings=warnings,
            )
        if checkpoint.sequence == 0:
            continue  # the empty chain: nothing to compare
        found = hashes.get(checkpoint.sequence)
        if found != checkpoint.hash:
            return CheckpointFinding(
                BROKEN,
                f"event {checkpoint.sequence} has hash {found} but {where} records "
                f"{checkpoint.hash}: the chain was rewritten up to it",
                latest=latest,
                checked=len(ordered),
                warnings=warnings,
            )
    which = (
        "the latest signed checkpoint it reaches" if restored else "the latest signed checkpoint"
    )
    return CheckpointFinding(
        VERIFIED,
        f"the chain holds {which} ({latest.describe()}) and {len(ordered) - 1} earlier one(s)",
        latest=latest,
        checked=len(ordered),
        warnings=warnings,
    )


def summary(record: Mapping[str, Any] | None) -> str:
    """One line for a report: the checkpoint's sequence, hash, time, key and signature."""
    if not record:
        return ""
    return (
        f"sequence {record.get('sequence')}, hash {record.get('hash')}, signed "
        f"{record.get('checkpointed_at')} with key {record.get('key_id')}, signature "
        f"{record.get('signature')}"
    )
