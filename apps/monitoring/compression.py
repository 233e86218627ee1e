"""gunzip with a size cap, shared by metric ingestion and drift samples. Pure, no ORM."""

from __future__ import annotations

import gzip
import io
import zlib

GZIP_MAGIC = b"\x1f\x8b"


class GzipTooLarge(ValueError):
    """The content grows past the cap once decompressed (a zip-bomb guard)."""


class GzipCorrupt(ValueError):
    """The bytes start like gzip but do not decompress."""


def gunzip_capped(data: bytes, *, max_bytes: int) -> bytes:
    """The decompressed content, read in 1 MB chunks and refused past ``max_bytes``."""
    out = io.BytesIO()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            while chunk := stream.read(1 << 20):
                out.write(chunk)
                if out.tell() > max_bytes:
                    raise GzipTooLarge(max_bytes)
    except (OSError, EOFError, zlib.error) as exc:
        raise GzipCorrupt(str(exc)) from exc
    return out.getvalue()
