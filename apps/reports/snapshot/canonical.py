"""The snapshot's canonical form: the bytes its SHA-256 (the cards' content hash) is taken of.

Pure: no database.
"""

from __future__ import annotations

import hashlib
import json


def canonical_bytes(snapshot: dict) -> bytes:
    """The snapshot as canonical JSON: sorted keys, no whitespace, UTF-8."""
    return json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def snapshot_sha256(snapshot: dict) -> str:
    return hashlib.sha256(canonical_bytes(snapshot)).hexdigest()
