"""Keyset (cursor) pages of lists ordered newest first by (created_at, pk): the cursor
names the row a page starts after (or before), so a late page costs what the first does —
no OFFSET, no COUNT. Pure: encoding and decoding of cursors; the filtering is in the
selectors."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Key:
    at: datetime
    pk: int


def encode(key: Key) -> str:
    text = f"{key.pk}:{key.at.isoformat()}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode(cursor: str) -> Key | None:
    """The key of a cursor, or None for a missing or broken one (the first page)."""
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        pk, at = text.split(":", 1)
        return Key(datetime.fromisoformat(at), int(pk))
    except (ValueError, UnicodeDecodeError):
        return None
