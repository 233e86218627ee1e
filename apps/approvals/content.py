"""The fingerprint of the content a request freezes. Pure."""

from __future__ import annotations

import hashlib

from apps.audit.chain import canonical_json


def content_sha256(content: dict) -> str:
    """SHA-256 of the content's canonical JSON: what an approver signs."""
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()
